"""Exporting video frames: the ``video_frames`` CSV (video, frame index, timestamp, file name;
one row per frame of the tag, per video in frame order, formula-neutralised) through the
export helper, ``manage.py export_tag``, the API and the tag page; and the copy export of a tag's
frames, whose files live in the frames store."""

from __future__ import annotations

import csv
import io
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from curation.models import Sample, Tag
from curation.storage.frames import frames_root
from curation.storage.paths import safe_join
from curation.tags.export import ExportError, tag_export
from curation.tags.services import tag_create
from tests.support.ingest import make_image
from tests.support.sequences import frame_dataset

VIDEOS = {"clips/b.mp4": 4, "=evil.mp4": 3}
HEADER = ["video", "frame_index", "timestamp_s", "file_name"]


@pytest.fixture
def frames_tag(dataset, tmp_path) -> Tag:
    """Frames 0, 2, 3 of clips/b.mp4, frames 1, 2 of =evil.mp4 and one image, tagged; each
    frame has its JPEG in the frames store, each image in the dataset's image folder."""
    frame_dataset(dataset, VIDEOS, images=2, fps=4.0)
    dataset.image_root = str(tmp_path / "images")
    dataset.save(update_fields=["image_root"])
    chosen = []
    left_out = {("clips/b.mp4", 1), ("=evil.mp4", 0)}
    for sample in Sample.objects.filter(dataset=dataset).select_related("video"):
        if sample.video is None:
            make_image(safe_join(dataset.image_root, sample.file_name), seed=sample.pk)
            if sample.file_name == "img_000.jpg":
                chosen.append(sample)
        else:
            make_image(safe_join(frames_root(dataset.pk), sample.file_name), seed=sample.pk)
            if (sample.video.name, sample.frame_index) not in left_out:
                chosen.append(sample)
    b = [s for s in chosen if s.video and s.video.name == "clips/b.mp4"]
    # one frame without a timestamp_s: its time comes from fps
    late = next(s for s in b if s.frame_index == 3)
    late.metadata.pop("timestamp_s")
    late.save(update_fields=["metadata"])
    return tag_create(dataset=dataset, name="frames", sample_ids=[s.pk for s in chosen])


EXPECTED = [
    HEADER,
    ["'=evil.mp4", "1", "0.25", "'=evil.mp4/=evil-000001.jpg"],
    ["'=evil.mp4", "2", "0.5", "'=evil.mp4/=evil-000002.jpg"],
    ["clips/b.mp4", "0", "0.0", "clips/b.mp4/b-000000.jpg"],
    ["clips/b.mp4", "2", "0.5", "clips/b.mp4/b-000002.jpg"],
    ["clips/b.mp4", "3", "0.75", "clips/b.mp4/b-000003.jpg"],
]


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_lists_each_frame_per_video_in_frame_order(dataset, frames_tag, tmp_path):
    out = tmp_path / "deep" / "frames.csv"
    summary = tag_export(dataset=dataset, tag=frames_tag, format="video_frames", output=out)
    assert rows_of(out.read_text(encoding="utf-8")) == EXPECTED
    assert summary.samples == 5  # the image is no frame
    assert [p.name for p in out.parent.iterdir()] == ["frames.csv"]  # no temporary file left


def test_a_tag_without_frames_is_one_sentence_and_nothing_written(dataset, tmp_path):
    frame_dataset(dataset, {}, images=2)
    tag = tag_create(
        dataset=dataset, name="imgs", sample_ids=list(dataset.samples.values_list("pk", flat=True))
    )
    out = tmp_path / "frames.csv"
    with pytest.raises(ExportError) as err:
        tag_export(dataset=dataset, tag=tag, format="video_frames", output=out)
    assert str(err.value) == (
        "Tag 'imgs' holds no video frames: video_frames lists frames of videos; export it as "
        "filenames or csv instead."
    )
    assert not out.exists()


def test_copying_a_tag_copies_frames_from_the_frames_store(dataset, frames_tag, tmp_path):
    target = tmp_path / "copy"
    summary = tag_export(
        dataset=dataset,
        tag=frames_tag,
        format="filenames",
        output=tmp_path / "names.txt",
        copy_to=target,
    )
    assert summary.files_copied == 6 and summary.files_missing == []
    for sample in Sample.objects.filter(memberships__tag=frames_tag):
        copied = safe_join(target, sample.file_name)
        if sample.video_id is None:
            source = safe_join(dataset.image_root, sample.file_name)
        else:
            source = safe_join(frames_root(dataset.pk), sample.file_name)
        assert copied.read_bytes() == source.read_bytes()
    assert (target / "clips/b.mp4/b-000002.jpg").is_file()


def test_symlinking_frames_points_into_the_frames_store(dataset, frames_tag, tmp_path):
    target = tmp_path / "links"
    tag_export(
        dataset=dataset,
        tag=frames_tag,
        format="video_frames",
        output=tmp_path / "f.csv",
        symlink_to=target,
    )
    link = target / "clips/b.mp4/b-000000.jpg"
    assert link.is_symlink()
    assert link.resolve() == safe_join(frames_root(dataset.pk), "clips/b.mp4/b-000000.jpg")
    assert not (target / "img_000.jpg").exists()  # video_frames exports only the frames


# ----------------------------------------------------------------------------- CLI


def test_export_tag_writes_the_video_frames_csv(dataset, frames_tag, tmp_path):
    out = tmp_path / "f.csv"
    stdout = StringIO()
    call_command(
        "export_tag", "cats", "frames", "--format", "video_frames", "--output", str(out),
        stdout=stdout,
    )  # fmt: skip
    assert rows_of(out.read_text(encoding="utf-8")) == EXPECTED
    assert "Exported 5 samples of 'frames'" in stdout.getvalue()


def test_export_tag_refuses_a_tag_without_frames(dataset, tmp_path):
    frame_dataset(dataset, {}, images=1)
    tag_create(dataset=dataset, name="imgs", sample_ids=[dataset.samples.get().pk])
    out = tmp_path / "f.csv"
    with pytest.raises(CommandError) as err:
        call_command("export_tag", "cats", "imgs", "--format", "video_frames", "--output", str(out))
    assert str(err.value).startswith("error: Tag 'imgs' holds no video frames")
    assert not out.exists()


# ----------------------------------------------------------------------------- API and page


def url(tag: Tag) -> str:
    return f"/api/datasets/{tag.dataset_id}/tags/{tag.pk}/export/?format=video_frames"


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_api_downloads_the_csv(api, frames_tag, who):
    response = api(who).get(url(frames_tag))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert 'filename="cats-frames.csv"' in response["Content-Disposition"]
    assert rows_of(b"".join(response.streaming_content).decode()) == EXPECTED


@pytest.mark.parametrize(("who", "code"), [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_download_it(api, frames_tag, who, code):
    response = api(who).get(url(frames_tag))
    assert response.status_code == code
    assert "=evil" not in response.content.decode()


def test_the_api_refuses_a_tag_without_frames(api, dataset):
    frame_dataset(dataset, {}, images=1)
    tag = tag_create(dataset=dataset, name="imgs", sample_ids=[dataset.samples.get().pk])
    response = api("bob").get(url(tag))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Tag 'imgs' holds no video frames")


class TestTagPage:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_export_menu_downloads_it(self, client, request, frames_tag, who):
        client.force_login(request.getfixturevalue(who))
        page = client.get(reverse("tag-detail", args=[frames_tag.dataset_id, frames_tag.pk]))
        assert b'value="video_frames"' in page.content
        response = client.get(
            reverse("tag-export", args=[frames_tag.dataset_id, frames_tag.pk])
            + "?format=video_frames"
        )
        assert response.status_code == 200
        assert rows_of(b"".join(response.streaming_content).decode()) == EXPECTED

    def test_an_outsider_gets_404(self, client, charlie, frames_tag):
        client.force_login(charlie)
        response = client.get(
            reverse("tag-export", args=[frames_tag.dataset_id, frames_tag.pk])
            + "?format=video_frames"
        )
        assert response.status_code == 404
