"""Sequence runs (``selected_sequence_length``): the tag holds whole runs of L frames, equal to
an independent reference on the same stored data; bad values are refused at start with one
sentence naming the JSON path and nothing written; the API and the CLI say the same."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from curation.filters import SampleFilter
from curation.models import Sample, SelectionRun
from curation.runs.services import SelectionRunError, selection_run_start
from curation.selection import ArrayData
from curation.storage.embeddings import embedding_space_load
from tests.support.selection import runs_and_tags, tag_ids, tag_named
from tests.support.sequences import frame_dataset, reference_select

VIDEOS = {"clips/a.mp4": 10, "clips/b.mp4": 7, "c.mov": 9}
DIV = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}
SHARP = {"input": {"type": "METADATA", "key": "sharpness"}, "strategy": {"type": "WEIGHTS"}}


def sequence_config(n: int, L: int, *strategies: dict[str, Any]) -> dict[str, Any]:
    return {"n_samples": n, "selected_sequence_length": L, "strategies": list(strategies or [DIV])}


def stored_arrays(dataset) -> tuple[np.ndarray, ArrayData, np.ndarray, np.ndarray]:
    """What the database holds, read independently of the run: ids ascending, vectors,
    sharpness, video id (-1 for images) and frame index."""
    rows = list(
        Sample.objects.filter(dataset=dataset)
        .order_by("pk")
        .values_list("pk", "video_id", "frame_index", "metadata")
    )
    ids = np.array([r[0] for r in rows])
    loaded = embedding_space_load(dataset.embedding_spaces.get(name="default"))
    position = {int(pk): i for i, pk in enumerate(loaded.sample_ids)}
    X = np.asarray(loaded.matrix)[[position[int(pk)] for pk in ids]]
    data = ArrayData(
        embeddings={"default": X},
        metadata={"sharpness": np.array([r[3]["sharpness"] for r in rows])},
        n=len(ids),
    )
    videos = np.array([-1 if r[1] is None else r[1] for r in rows])
    frames = np.array([r[2] or 0 for r in rows])
    return ids, data, videos, frames


def start(dataset, user, config, **kwargs) -> SelectionRun:
    return selection_run_start(
        dataset=dataset,
        config=config,
        result_tag_name=kwargs.pop("tag", "seq"),
        user=user,
        execute="inline",
        **kwargs,
    )


@pytest.mark.parametrize(
    ("L", "units", "extra"),
    [(2, 3, ()), (3, 4, (SHARP,)), (4, 2, (SHARP,)), (5, 1, ())],
)
def test_a_sequence_run_equals_the_reference(dataset, alice, L, units, extra):
    frame_dataset(dataset, VIDEOS, images=4, seed=L)
    config = sequence_config(units * L, L, DIV, *extra)
    run = start(dataset, alice, config)
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    ids, data, videos, frames = stored_arrays(dataset)
    expected = [int(ids[r]) for r in reference_select(config, data, videos, frames)]
    assert run.pick_order == expected
    assert tag_ids(dataset, "seq") == set(expected)
    assert run.selected_count == units * L == run.requested_n
    picks = run.explanation["picks"]
    assert [p["sample_id"] for p in picks] == expected
    assert [p["sequence"] for p in picks] == [i // L for i in range(units * L)]
    by_id = {s.pk: s for s in Sample.objects.filter(pk__in=expected)}
    for a in range(0, len(expected), L):
        chunk = [by_id[pk] for pk in expected[a : a + L]]
        assert len({s.video_id for s in chunk}) == 1
        assert [s.frame_index for s in chunk] == sorted(s.frame_index for s in chunk)
    assert "Selected sequences of" in run.message
    assert "4 sample(s) that are no video frame" in run.message


def test_a_filter_and_a_mask_shape_the_sequences(dataset, alice):
    frame_dataset(dataset, VIDEOS, seed=7)
    a_frames = Sample.objects.filter(dataset=dataset, video__name="clips/a.mp4")
    masked = list(a_frames.filter(frame_index__in=[0, 5]).values_list("pk", flat=True))
    tag_named(dataset, "hide", masked)
    config = sequence_config(6, 2, DIV)
    run = start(dataset, alice, config, mask_tag="hide")
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    picked = Sample.objects.filter(pk__in=run.pick_order)
    # the chunks (0,1) and (4,5) of clips/a.mp4 hold a masked frame: none of their frames
    assert not picked.filter(video__name="clips/a.mp4", frame_index__in=[0, 1, 4, 5]).exists()
    # a filter leaving out video c.mov: no frame of it
    only_ab = SampleFilter.parse({"q": "clips/"})
    run = start(dataset, alice, config, tag="ab", candidate_filter=only_ab, mask_tag=None)
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    assert not Sample.objects.filter(pk__in=run.pick_order, video__name="c.mov").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"selected_sequence_length": 0}, "selected_sequence_length: must be >= 1"),
        ({"selected_sequence_length": 2.5}, "selected_sequence_length: must be an integer"),
        ({"selected_sequence_length": "3"}, "selected_sequence_length: must be an integer"),
        (
            {"selected_sequence_length": 4, "n_samples": 10},
            "n_samples: must be a multiple of selected_sequence_length (4): every sequence "
            "brings 4 frames",
        ),
        (
            {"selected_sequence_length": 11},
            "selected_sequence_length: no video has 11 candidate frames",
        ),
    ],
)
def test_bad_values_are_one_sentence_and_write_nothing(dataset, alice, change, message):
    frame_dataset(dataset, VIDEOS)
    config = {**sequence_config(22, 2, DIV), **change}
    if change.get("selected_sequence_length") == 11:
        config["n_samples"] = 22
    with pytest.raises(SelectionRunError) as err:
        start(dataset, alice, config)
    assert str(err.value).startswith(message)
    assert err.value.path == message.split(":")[0]
    assert runs_and_tags(dataset) == (0, 0)


def test_a_dataset_of_images_cannot_select_sequences(dataset, alice):
    frame_dataset(dataset, {}, images=6)
    with pytest.raises(SelectionRunError) as err:
        start(dataset, alice, sequence_config(4, 2, DIV))
    assert str(err.value) == (
        "selected_sequence_length: no candidate is a video frame, so no sequence of 2 frames can "
        "be selected; import videos or set selected_sequence_length to 1."
    )
    assert runs_and_tags(dataset) == (0, 0)


# ----------------------------------------------------------------------------- API and CLI


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_api_starts_a_sequence_run(api, dataset, who):
    frame_dataset(dataset, VIDEOS)
    body = {"config": sequence_config(6, 3, DIV), "result_tag_name": "seq"}
    response = api(who).post(f"/api/datasets/{dataset.pk}/runs/", body)
    assert response.status_code == 201, response.json()
    run = SelectionRun.objects.get()
    assert run.config["selected_sequence_length"] == 3


@pytest.mark.parametrize(
    ("who", "code"), [("alice", 400), ("bob", 400), ("charlie", 404), ("anonymous", 401)]
)
def test_the_api_refuses_a_bad_length_with_the_path(api, dataset, who, code):
    frame_dataset(dataset, VIDEOS)
    body = {"config": sequence_config(7, 3, DIV), "result_tag_name": "seq"}
    response = api(who).post(f"/api/datasets/{dataset.pk}/runs/", body)
    assert response.status_code == code
    if code == 400:
        assert response.json()["path"] == "n_samples"
        assert response.json()["detail"].startswith("n_samples: must be a multiple of")
    assert runs_and_tags(dataset) == (0, 0)


def test_select_command_runs_a_sequence_config(dataset, tmp_path):
    frame_dataset(dataset, VIDEOS)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(sequence_config(8, 4, DIV)))
    call_command("select", "cats", "--config", str(path), "--tag", "seq", stdout=StringIO())
    run = SelectionRun.objects.get()
    assert run.status == SelectionRun.Status.SUCCEEDED and run.selected_count == 8
    assert len(tag_ids(dataset, "seq")) == 8


def test_select_command_refuses_a_bad_length(dataset, tmp_path):
    frame_dataset(dataset, VIDEOS)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(sequence_config(8, 0, DIV)))
    with pytest.raises(CommandError, match="selected_sequence_length: must be >= 1"):
        call_command("select", "cats", "--config", str(path), "--tag", "seq", stdout=StringIO())
    assert runs_and_tags(dataset) == (0, 0)
