"""Videos in an import folder: one ``Video`` row per video, its kept frames as samples with
``video_name`` / ``frame_index`` / ``timestamp_s``, pixel metadata, thumbnails and embeddings
like images; frames in the frames store; all or nothing; skipped files; cancel mid-decode."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from PIL import Image

from curation.imports.services import IngestError, dataset_import
from curation.jobs import execute as jobs_execute
from curation.jobs.services import import_job_start
from curation.models import Dataset, EmbeddingSpace, Job, Sample, Video
from curation.storage.frames import frames_root, sample_file_path
from tests.support.ingest import assert_nothing_written, make_images
from tests.support.uploads import media_files
from tests.support.videos import make_video, truncate_video


@pytest.fixture
def folder(tmp_path) -> Path:
    """``clips/a.mp4`` (20 frames at 10 fps), ``b.MOV`` (10 frames at 5 fps), one image and
    two files that are neither."""
    root = tmp_path / "in"
    make_video(root / "clips" / "a.mp4", frames=20, fps=10, size=(64, 48))
    make_video(root / "b.MOV", frames=10, fps=5, size=(48, 32), codec="libx264")
    make_images(root, ["photo.png"])
    (root / "notes.txt").write_text("not media")
    (root / "clips" / "anim.gif").write_bytes(b"GIF89a")
    return root


def frames_of(dataset, video_name):
    return list(
        Sample.objects.filter(dataset=dataset, video__name=video_name).order_by("frame_index")
    )


def test_it_imports_videos_at_one_frame_per_second_by_default(dataset, folder):
    summary = dataset_import(dataset=dataset, images=folder, workers=0)

    assert (summary.images_added, summary.videos_added, summary.video_frames) == (1, 2, 4)
    a = Video.objects.get(dataset=dataset, name="clips/a.mp4")
    assert (a.fps, a.duration_s, a.frame_count, a.width, a.height) == (10.0, 2.0, 20, 64, 48)
    assert (a.codec, a.frame_step) == ("mpeg4", 10)
    assert a.size_bytes == (folder / "clips" / "a.mp4").stat().st_size
    b = Video.objects.get(dataset=dataset, name="b.MOV")
    assert (b.fps, b.frame_count, b.codec, b.frame_step) == (5.0, 10, "h264", 5)
    frames = frames_of(dataset, "clips/a.mp4")
    assert [s.file_name for s in frames] == ["clips/a.mp4/a-000000.jpg", "clips/a.mp4/a-000010.jpg"]
    assert [s.frame_index for s in frames] == [0, 10]
    assert [(s.metadata["video_name"], s.metadata["frame_index"]) for s in frames] == [
        ("clips/a.mp4", 0),
        ("clips/a.mp4", 10),
    ]
    assert [s.metadata["timestamp_s"] for s in frames] == [0.0, 1.0]
    assert [s.file_name for s in frames_of(dataset, "b.MOV")] == [
        "b.MOV/b-000000.jpg",
        "b.MOV/b-000005.jpg",
    ]
    photo = Sample.objects.get(dataset=dataset, file_name="photo.png")
    assert photo.video_id is None and "video_name" not in photo.metadata


def test_frames_are_jpegs_in_the_frames_store_with_pixel_metadata_and_thumbnails(dataset, folder):
    dataset_import(dataset=dataset, images=folder, workers=0)

    frame = frames_of(dataset, "clips/a.mp4")[1]
    path = frames_root(dataset.pk) / "clips/a.mp4/a-000010.jpg"
    assert sample_file_path(frame) == path.resolve()
    with Image.open(path) as image:
        assert (image.format, image.size) == ("JPEG", (64, 48))
    assert (frame.width, frame.height, frame.size_bytes) == (64, 48, path.stat().st_size)
    assert frame.metadata["lightly.sizeInBytes"] == path.stat().st_size
    for key in ("lightly.sharpness", "lightly.brightness", "lightly.width"):
        assert key in frame.metadata
    assert frame.thumbnail.startswith(f"datasets/{dataset.pk}/thumbs/")
    assert (Path(settings.MEDIA_ROOT) / frame.thumbnail).is_file()
    files = media_files()
    assert [f for f in files if f.startswith("frames/")] == [
        f"frames/dataset-{dataset.pk}/{name}"
        for name in [
            "b.MOV/b-000000.jpg",
            "b.MOV/b-000005.jpg",
            "clips/a.mp4/a-000000.jpg",
            "clips/a.mp4/a-000010.jpg",
        ]
    ]
    assert not [f for f in files if f.startswith("staging/")]


def test_frames_get_the_builtin_embedding_like_images(dataset, folder):
    dataset_import(dataset=dataset, images=folder, workers=0)

    space = EmbeddingSpace.objects.get(dataset=dataset, name="builtin")
    assert space.count == Sample.objects.filter(dataset=dataset).count() == 5


@pytest.mark.parametrize(
    ("options", "a_frames", "step"),
    [
        ({"video_every": 1}, list(range(20)), 1),
        ({"video_every": 7}, [0, 7, 14], 7),
        ({"video_fps": 2}, [0, 5, 10, 15], 5),
        ({"video_fps": 100}, list(range(20)), 1),
    ],
)
def test_the_rate_decides_which_frames_are_kept(dataset, folder, options, a_frames, step):
    dataset_import(dataset=dataset, images=folder, workers=0, embed="never", **options)

    assert [s.frame_index for s in frames_of(dataset, "clips/a.mp4")] == a_frames
    assert Video.objects.get(dataset=dataset, name="clips/a.mp4").frame_step == step


def test_a_truncated_video_fails_the_whole_import_and_writes_nothing(dataset, folder):
    truncate_video(make_video(folder / "clips" / "bad.mp4", frames=30, fps=10), 0.6)

    with pytest.raises(IngestError) as caught:
        dataset_import(dataset=dataset, images=folder, workers=0)

    assert str(caught.value).startswith("Video clips/bad.mp4 could not be decoded: ")
    assert str(folder) not in str(caught.value)
    assert_nothing_written(dataset)
    assert not Video.objects.exists()
    assert media_files() == []  # no frame, no thumbnail, no staging folder


def test_a_folder_without_images_or_videos_is_an_error(dataset, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing to see")

    with pytest.raises(IngestError) as caught:
        dataset_import(dataset=dataset, images=empty, workers=0)

    assert str(caught.value).startswith(f"{empty} contains no images or videos: ")
    assert_nothing_written(dataset)


def test_unsupported_files_are_listed_as_skipped(dataset, folder):
    summary = dataset_import(dataset=dataset, images=folder, workers=0, embed="never")

    assert summary.unsupported == ["clips/anim.gif", "notes.txt"]
    lines = summary.lines()
    assert "Skipped 2 unsupported file(s): clips/anim.gif, notes.txt." in lines
    assert "Videos: 2 added (4 frames), 0 skipped (already there)." in lines
    assert "Images: 1 added, 0 skipped (already there), 0 failed." in lines


def test_a_second_import_skips_the_videos_already_there(dataset, folder):
    dataset_import(dataset=dataset, images=folder, workers=0, embed="never")
    make_video(folder / "c.webm", frames=5, fps=5, codec="libvpx")

    summary = dataset_import(dataset=dataset, images=folder, workers=0, embed="never")

    assert (summary.videos_added, summary.videos_skipped, summary.video_frames) == (1, 2, 1)
    assert Video.objects.filter(dataset=dataset).count() == 3
    assert Sample.objects.filter(dataset=dataset, video__isnull=False).count() == 5


def test_the_pool_gives_the_same_frames_as_this_process(dataset, tmp_path):
    root = tmp_path / "many"
    make_video(root / "long.mkv", frames=150, fps=25)

    summary = dataset_import(dataset=dataset, images=root, workers=2, video_every=1, embed="never")

    assert summary.video_frames == 150
    assert sorted(
        Sample.objects.filter(dataset=dataset).values_list("frame_index", flat=True)
    ) == list(range(150))
    assert all(s.thumbnail for s in Sample.objects.filter(dataset=dataset))


def test_progress_reports_decoded_frames_against_the_estimate(dataset, folder):
    seen: list[tuple[str, int, int]] = []

    dataset_import(
        dataset=dataset,
        images=folder,
        workers=0,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )

    videos = [(done, total) for stage, done, total in seen if stage == "videos"]
    assert videos[0] == (1, 30)  # first decoded frame of 20 + 10 estimated
    assert videos[-1] == (30, 30)
    assert seen.index(("videos", 30, 30)) < [s for s, _, _ in seen].index("images")


@pytest.mark.django_db(transaction=True)
def test_cancel_during_decoding_leaves_nothing(alice, folder, monkeypatch):
    dataset = Dataset.objects.create(name="clips", owner=alice)
    real_progress = jobs_execute.JobMonitor.progress

    def cancel_while_decoding(self, stage, done, total):
        if stage == "videos" and done >= 3:
            Job.objects.filter(pk=self.job.pk).update(cancel_requested=True)
            self.last_write = -1e9  # the next write reads the flag at once
        real_progress(self, stage, done, total)

    monkeypatch.setattr(jobs_execute.JobMonitor, "progress", cancel_while_decoding)
    monkeypatch.setattr("curation.imports.videos.PROGRESS_EVERY_S", 0.0)

    job = import_job_start(
        dataset=dataset, user=alice, options={"images": str(folder)}, execute="inline"
    )

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.message.startswith("Cancelled after decoding 3 of about 30 video frames")
    assert not Sample.objects.exists() and not Video.objects.exists()
    assert media_files() == []


def test_the_command_imports_videos_at_the_given_rate(alice, folder):
    alice.is_superuser = True
    alice.save()
    out = StringIO()

    call_command(
        "import_dataset",
        "clips",
        "--images",
        str(folder),
        "--video-every",
        "5",
        "--embed",
        "never",
        "--workers",
        "0",
        stdout=out,
        verbosity=0,
    )

    dataset = Dataset.objects.get(name="clips")
    assert [s.frame_index for s in frames_of(dataset, "clips/a.mp4")] == [0, 5, 10, 15]
    printed = out.getvalue().splitlines()
    assert "Videos: 2 added (6 frames), 0 skipped (already there)." in printed
    assert "Skipped 2 unsupported file(s): clips/anim.gif, notes.txt." in printed


def test_the_command_refuses_both_rates(alice, folder):
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_dataset",
            "clips",
            "--images",
            str(folder),
            "--video-every",
            "5",
            "--video-fps",
            "2",
            stdout=StringIO(),
        )

    assert "not allowed with argument" in str(caught.value)
    assert not Dataset.objects.filter(name="clips").exists()


def test_the_command_fails_with_one_line_for_a_truncated_video(alice, folder):
    alice.is_superuser = True
    alice.save()
    truncate_video(make_video(folder / "clips" / "bad.mp4", frames=30, fps=10), 0.6)

    with pytest.raises(CommandError) as caught:
        call_command(
            "import_dataset", "clips", "--images", str(folder), stdout=StringIO(), verbosity=0
        )

    message = str(caught.value)
    assert message.startswith("error: Video clips/bad.mp4 could not be decoded: ")
    assert "\n" not in message
    assert not Dataset.objects.filter(name="clips").exists()
    assert not Video.objects.exists() and media_files() == []
