"""``video=NAME`` and ``frames=START-END`` in the filter language: parsing, results, composition
with the other parameters, and the same text in the API, ``select --where`` and a run's stored
candidate filter."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import Sample, SelectionRun, Tag, Video
from curation.tags.services import tag_create
from tests.support.selection import diversity, populate
from tests.support.video_rows import video_with_frames


@pytest.fixture
def clips(dataset):
    """Two videos (a.mp4: frames 0..9, b.mp4: frames 0..18 every 2nd) and two images."""
    _, a_frames = video_with_frames(dataset, "a.mp4", frames=10)
    _, b_frames = video_with_frames(dataset, "b.mp4", frames=10, step=2)
    images = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"img_{i}.png", width=64, height=48) for i in range(2)]
    )
    return {"a": a_frames, "b": b_frames, "images": images}


def ids(dataset, query: str) -> set[int]:
    return set(filter_samples(dataset, SampleFilter.parse(query)).values_list("pk", flat=True))


def pks(samples) -> set[int]:
    return {s.pk for s in samples}


@pytest.mark.parametrize(
    ("query", "videos", "frames"),
    [
        ("video=a.mp4", ("a.mp4",), None),
        ("video=a.mp4&video=b.mp4&video=a.mp4", ("a.mp4", "b.mp4"), None),
        ("frames=100-250", (), (100, 250)),
        ("frames=100-", (), (100, None)),
        ("frames=-50", (), (None, 50)),
        ("frames=7", (), (7, 7)),
        ("frames= 3 - 4 ", (), (3, 4)),
        ("video=clips/x y.mp4&frames=0-0", ("clips/x y.mp4",), (0, 0)),
    ],
)
def test_it_parses_and_round_trips(query, videos, frames):
    parsed = SampleFilter.parse(query)
    assert parsed.videos == videos and parsed.frames == frames
    assert SampleFilter.parse(parsed.to_querystring()) == parsed
    assert SampleFilter.parse(parsed.to_dict()) == parsed  # a run's stored snapshot


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("frames=abc", "frames='abc' is not a range: use START-END"),
        ("frames=-", "frames='-' needs a start, an end or both"),
        ("frames=10-5", "frames='10-5' starts after it ends"),
        ("frames=1.5-3", "frames='1.5-3' is not a range"),
        ("frames=-5-10", "frames='-5-10' is not a range"),
        ("frames=0-99999999999", "names a frame past 2,147,483,647"),
        ("frames=²", "frames='²' is not a range"),  # a digit to isdigit(), not to int()
        ("frames=\u0661-\u0663", "is not a range"),  # Arabic-Indic digits
    ],
)
def test_bad_frame_ranges_are_one_sentence(query, message):
    with pytest.raises(FilterError, match=re.escape(message)) as raised:
        SampleFilter.parse(query)
    sentence = str(raised.value)
    assert not re.search(r"[.!?] [A-Z]", sentence) and sentence.endswith(".")


def test_unknown_video_is_a_clear_error(dataset, clips):
    with pytest.raises(FilterError, match=re.escape("No video named 'c.mp4' in dataset 'cats'")):
        filter_samples(dataset, SampleFilter.parse("video=a.mp4&video=c.mp4"))


def test_a_video_of_another_dataset_is_unknown(dataset, clips, private_dataset):
    video_with_frames(private_dataset, "other.mp4", frames=2)
    with pytest.raises(FilterError, match=re.escape("No video named 'other.mp4'")):
        filter_samples(dataset, SampleFilter.parse("video=other.mp4"))


def test_video_matches_its_frames_only(dataset, clips):
    assert ids(dataset, "video=a.mp4") == pks(clips["a"])
    assert ids(dataset, "video=a.mp4&video=b.mp4") == pks(clips["a"]) | pks(clips["b"])


def test_frames_are_inclusive_with_open_ends(dataset, clips):
    a, b = clips["a"], clips["b"]  # a: indexes 0..9, b: 0, 2, ..., 18
    assert ids(dataset, "video=a.mp4&frames=3-5") == pks(a[3:6])
    assert ids(dataset, "video=a.mp4&frames=8-") == pks(a[8:])
    assert ids(dataset, "video=b.mp4&frames=-4") == pks(b[:3])
    assert ids(dataset, "video=b.mp4&frames=5") == set()  # b stores even frames only
    # Without video=, the range applies to every video; images have no frame index.
    assert ids(dataset, "frames=9-10") == {a[9].pk, b[5].pk}
    assert not ids(dataset, "frames=0-") & pks(clips["images"])


def test_it_composes_with_tags_and_other_filters(dataset, clips):
    a, b = clips["a"], clips["b"]
    tag_create(dataset=dataset, name="keep", sample_ids=[a[1].pk, a[4].pk, b[2].pk])
    assert ids(dataset, "tag=keep&video=a.mp4") == {a[1].pk, a[4].pk}
    assert ids(dataset, "exclude_tag=keep&video=a.mp4&frames=0-4") == pks([a[0], a[2], a[3]])
    assert ids(dataset, "q=b.mp4&frames=4-") == pks(b[2:])
    Sample.objects.filter(pk=a[6].pk).update(metadata={"lightly.sharpness": 80.0})
    assert ids(dataset, "video=a.mp4&min:lightly.sharpness=50") == {a[6].pk}


def test_describe_names_videos_and_frames():
    text = SampleFilter.parse("video=a.mp4&video=b.mp4&frames=10-20").describe()
    assert text == "frames of videos a.mp4 or b.mp4, frames 10 to 20"
    assert SampleFilter.parse("frames=-5").describe() == "frames up to 5"
    assert SampleFilter.parse("frames=5-").describe() == "frames 5 and later"


def test_the_api_filters_by_video_and_frames(api, dataset, clips):
    response = api("alice").get(
        f"/api/datasets/{dataset.pk}/samples/", {"video": "a.mp4", "frames": "2-3"}
    )
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["video"], r["frame_index"]) for r in rows] == [("a.mp4", 2), ("a.mp4", 3)]
    assert [r["metadata"]["timestamp_s"] for r in rows] == [0.2, 0.3]


def test_the_api_refuses_a_bad_range_with_one_sentence(api, dataset, clips):
    response = api("alice").get(f"/api/datasets/{dataset.pk}/samples/", {"frames": "9-1"})
    assert response.status_code == 400
    assert "frames='9-1' starts after it ends" in json.dumps(response.json())
    response = api("alice").get(f"/api/datasets/{dataset.pk}/samples/", {"video": "zz.mp4"})
    assert response.status_code == 400 and "No video named 'zz.mp4'" in json.dumps(response.json())


def test_select_where_picks_among_a_videos_frames_only(dataset, alice, tmp_path):
    ids_ = populate(dataset, n=30)
    video = Video.objects.create(
        dataset=dataset, name="drive.mp4", fps=5, duration_s=2, frame_count=10, width=8, height=8,
        size_bytes=1,
    )  # fmt: skip
    for i, pk in enumerate(ids_[:10]):  # the first ten samples are its frames 0..9
        Sample.objects.filter(pk=pk).update(video=video, frame_index=i)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(diversity(3)))
    call_command(
        "select", "cats", "--config", str(config), "--tag", "picked",
        "--where", "video=drive.mp4&frames=2-7", stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    run = SelectionRun.objects.get()
    picked = set(Tag.objects.get(name="picked").samples.values_list("pk", flat=True))
    assert run.status == "succeeded" and run.candidate_count == 6
    assert len(picked) == 3 and picked <= set(ids_[2:8])
    assert SampleFilter.parse(run.candidate_filter) == SampleFilter.parse(
        "video=drive.mp4&frames=2-7"
    )
