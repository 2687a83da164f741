"""``selected_sequence_length``: the engine picks runs of L consecutive frames of one video.

The pipeline (``select_sequences``) is compared with an independent reference
(``tests.support.sequences``):
group the frames by video, sort by frame index, cut into chunks of L, average them, run the
plain engine on the chunks, expand the picked chunks to their frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.selection import (
    ArrayData,
    ConfigError,
    DataError,
    SelectionError,
    parse_config,
    select,
    select_sequences,
    sequence_plan,
)
from tests.support.sequences import reference_select, reference_units

EMB = {"type": "EMBEDDINGS"}
DIV = {"input": EMB, "strategy": {"type": "DIVERSITY"}}


def video_data(
    counts: list[int], *, images: int = 0, dim: int = 4, seed: int = 0, shuffle: bool = True
) -> tuple[ArrayData, np.ndarray, np.ndarray]:
    """Frames of ``len(counts)`` videos (video v has counts[v] frames) and ``images`` images,
    rows in a shuffled order; metadata ``video_name``, ``sharpness``."""
    rng = np.random.default_rng(seed)
    videos = np.concatenate([np.full(c, v) for v, c in enumerate(counts)] + [np.full(images, -1)])
    frames = np.concatenate([rng.permutation(c) * 2 for c in counts] + [np.zeros(images)])
    perm = rng.permutation(len(videos)) if shuffle else np.arange(len(videos))
    videos, frames = videos[perm].astype(np.int64), frames[perm].astype(np.int64)
    names = np.array([f"video-{v}" if v >= 0 else None for v in videos], dtype=object)
    data = ArrayData(
        embeddings={"default": rng.normal(size=(len(videos), dim)).astype(np.float32)},
        metadata={"video_name": names, "sharpness": rng.uniform(0, 10, len(videos))},
        n=len(videos),
    )
    return data, videos, frames


def frames_of(rows, videos, frames) -> list[tuple[int, int]]:
    return [(int(videos[r]), int(frames[r])) for r in rows]


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("top", "path", "words"),
    [
        ({"n_samples": 4, "selected_sequence_length": 0}, "selected_sequence_length", ">= 1"),
        ({"n_samples": 4, "selected_sequence_length": -2}, "selected_sequence_length", ">= 1"),
        ({"n_samples": 4, "selected_sequence_length": 2.5}, "selected_sequence_length", "integer"),
        ({"n_samples": 4, "selected_sequence_length": "2"}, "selected_sequence_length", "integer"),
        ({"n_samples": 4, "selected_sequence_length": True}, "selected_sequence_length", "integer"),
        ({"n_samples": 10, "selected_sequence_length": 4}, "n_samples", "multiple of"),
    ],
)
def test_bad_sequence_lengths_name_their_path(top, path, words):
    with pytest.raises(ConfigError) as err:
        parse_config({**top, "strategies": [DIV]})
    assert err.value.path == path
    assert words in str(err.value)
    assert str(err.value).startswith(f"{path}: ")


def test_the_length_defaults_to_one_and_is_read():
    assert parse_config({"n_samples": 3, "strategies": [DIV]}).selected_sequence_length == 1
    parsed = parse_config({"n_samples": 6, "selected_sequence_length": 3, "strategies": [DIV]})
    assert parsed.selected_sequence_length == 3
    prop = {"proportion_samples": 0.5, "selected_sequence_length": 3, "strategies": [DIV]}
    assert parse_config(prop).selected_sequence_length == 3


def test_an_object_level_config_cannot_select_sequences():
    objects = {"input": {"type": "EMBEDDINGS", "task": "boxes"}, "strategy": {"type": "DIVERSITY"}}
    config = {"n_samples": 4, "selected_sequence_length": 2, "strategies": [objects]}
    with pytest.raises(ConfigError) as err:
        parse_config(config)
    assert err.value.path == "selected_sequence_length"
    assert "object-level" in str(err.value)


def test_plain_select_refuses_a_sequence_config_instead_of_ignoring_it():
    data, _, _ = video_data([4, 4])
    config = {"n_samples": 2, "selected_sequence_length": 2, "strategies": [DIV]}
    with pytest.raises(DataError) as err:
        select(config, data)
    assert err.value.path == "selected_sequence_length"
    assert "select_sequences" in str(err.value)


# ------------------------------------------------------------------------------ plan


def test_the_plan_cuts_each_video_into_chunks_in_frame_order():
    videos = np.array([1, 0, 1, 0, -1, 0, 1, 0, 0, 1, 1])
    frames = np.array([4, 9, 0, 1, 0, 3, 2, 5, 7, 8, 6])
    plan = sequence_plan(videos, frames, 2)
    units = [frames_of(u, videos, frames) for u in plan.members]
    # (video, frame): video 0 frames 1 3 5 7 9 -> (1,3) (5,7), 9 dropped; video 1 frames
    # 0 2 4 6 8 -> (0,2) (4,6), 8 dropped; units ordered by the row of their first frame
    # (rows 0, 2, 3, 7)
    assert units == [[(1, 4), (1, 6)], [(1, 0), (1, 2)], [(0, 1), (0, 3)], [(0, 5), (0, 7)]]
    assert (plan.n_trailing, plan.n_not_frames, plan.n_videos) == (2, 1, 2)
    assert "2 trailing frame(s)" in plan.note() and "1 sample(s) that are no video frame" in (
        plan.note()
    )


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 9), min_size=1, max_size=5),
    images=st.integers(0, 4),
    L=st.integers(1, 5),
    seed=st.integers(0, 1000),
)
def test_plan_properties(counts, images, L, seed):
    _, videos, frames = video_data(counts, images=images, seed=seed)
    plan = sequence_plan(videos, frames, L)
    assert plan.n_units == sum(c // L for c in counts)
    assert plan.n_trailing == sum(c % L for c in counts)
    assert plan.n_not_frames == images
    seen = plan.members.reshape(-1)
    assert len(set(seen.tolist())) == len(seen)  # no frame in two units
    for unit in plan.members:
        assert len({int(videos[r]) for r in unit}) == 1  # one video
        assert list(frames[unit]) == sorted(frames[unit])  # frame order
    firsts = plan.members[:, 0]
    assert list(firsts) == sorted(firsts)
    assert [[int(r) for r in u] for u in plan.members] == reference_units(videos, frames, L)


# ------------------------------------------------------------------------------ vs reference


def _config(n: int, L: int, *extra: dict[str, Any]) -> dict[str, Any]:
    return {"n_samples": n, "selected_sequence_length": L, "strategies": [DIV, *extra]}


SHARP = {"input": {"type": "METADATA", "key": "sharpness"}, "strategy": {"type": "WEIGHTS"}}
SHARPER = {  # a hard filter on the sequences' mean sharpness
    "input": {"type": "METADATA", "key": "sharpness"},
    "strategy": {"type": "THRESHOLD", "threshold": 4.0, "operation": "BIGGER"},
}
BALANCE = {
    "input": {"type": "METADATA", "key": "video_name"},
    "strategy": {"type": "BALANCE", "distribution": "UNIFORM", "strength": 3.0},
}


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 12), min_size=1, max_size=5),
    images=st.integers(0, 3),
    L=st.integers(2, 4),
    units=st.integers(1, 5),
    extra=st.sampled_from([(), (SHARP,), (BALANCE,), (SHARP, BALANCE), (SHARPER,)]),
    seed=st.integers(0, 1000),
)
def test_sequences_equal_the_reference(counts, images, L, units, extra, seed):
    if sum(c // L for c in counts) == 0:
        counts = [*counts, L]
    data, videos, frames = video_data(counts, images=images, seed=seed)
    rng = np.random.default_rng(seed + 1)
    data.masked = rng.random(len(videos)) < 0.1
    data.preselected = rng.random(len(videos)) < 0.05
    config = _config(units * L, L, *extra)
    try:
        expected = reference_select(config, data, videos, frames)
    except SelectionError as exc:  # e.g. every sequence masked: the same error
        with pytest.raises(type(exc)) as err:
            select_sequences(config, data, videos, frames)
        assert str(err.value) == str(exc)
        return
    result = select_sequences(config, data, videos, frames)
    assert [int(i) for i in result.indices] == expected
    assert len(result.indices) % L == 0
    for a in range(0, len(result.indices), L):  # whole sequences of one video, in frame order
        chunk = result.indices[a : a + L]
        assert len(set(videos[chunk].tolist())) == 1
        assert list(frames[chunk]) == sorted(frames[chunk])
        assert not data.masked[chunk].any()


def test_the_result_counts_frames_and_explains_every_frame():
    data, videos, frames = video_data([7, 6, 5], images=2, seed=3)
    result = select_sequences(_config(6, 3, SHARP), data, videos, frames)
    assert len(result.indices) == 6 and result.n_requested == 6
    assert result.sequence_length == 3
    assert result.explanation.shape == (6, 2)
    assert np.array_equal(result.explanation[0], result.explanation[2], equal_nan=True)
    rows = result.explanation_rows()
    assert [r["sequence"] for r in rows] == [0, 0, 0, 1, 1, 1]
    assert result.messages[0].startswith("Selected sequences of 3 consecutive frames: 5 sequence")
    assert "2 sample(s) that are no video frame" in result.messages[0]


def test_progress_counts_frames():
    data, videos, frames = video_data([8, 8], seed=1)
    seen = []
    select_sequences(_config(8, 4), data, videos, frames, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (8, 8)


def test_proportion_rounds_down_to_whole_sequences():
    data, videos, frames = video_data([9, 6], seed=2)  # 3 + 2 = 5 sequences of 3
    config = {"proportion_samples": 0.5, "selected_sequence_length": 3, "strategies": [DIV]}
    result = select_sequences(config, data, videos, frames)
    assert len(result.indices) == 6  # floor(0.5 * 5) = 2 sequences


def test_length_one_is_the_plain_engine():
    data, videos, frames = video_data([5, 5], images=3, seed=4)
    config = {"n_samples": 4, "strategies": [DIV, SHARP]}
    assert np.array_equal(
        select_sequences(config, data, videos, frames).indices, select(config, data).indices
    )


def test_no_frames_or_too_short_videos_are_one_clear_error():
    data, videos, frames = video_data([0], images=4)
    with pytest.raises(DataError) as err:
        select_sequences(_config(2, 2), data, videos, frames)
    assert str(err.value) == (
        "selected_sequence_length: no candidate is a video frame, so no sequence of 2 frames "
        "can be selected"
    )
    data, videos, frames = video_data([2, 1])
    with pytest.raises(DataError, match="no video has 3 candidate frames"):
        select_sequences(_config(3, 3), data, videos, frames)


def test_embeddings_are_the_mean_of_the_frames():
    videos = np.array([0, 0, 0, 0])
    frames = np.array([0, 1, 2, 3])
    X = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [6.0, 0.0]])
    data = ArrayData(embeddings={"default": X}, n=4)
    # two sequences: (0,1) with mean (1,0) and (2,3) with mean (5,0); the query (2.6,0) is
    # nearer the first mean (means scaled down, e.g. by 2/3, would pick the second)
    query = {"input": {"type": "EMBEDDINGS", "tag_name": "q"}, "strategy": {"type": "SIMILARITY"}}
    data.queries = {"q": np.array([[2.6, 0.0]])}
    config = {"n_samples": 2, "selected_sequence_length": 2, "strategies": [query]}
    assert list(select_sequences(config, data, videos, frames).indices) == [0, 1]


def test_numeric_metadata_is_the_mean_of_the_frames():
    videos = np.array([0, 0, 1, 1])
    frames = np.array([0, 1, 0, 1])
    data = ArrayData(
        embeddings={"default": np.zeros((4, 2))},
        metadata={"sharpness": np.array([1.0, 3.0, 0.0, 3.9])},  # means 2.0 and 1.95
        n=4,
    )
    keep = {"threshold": 1.99, "operation": "BIGGER"}
    config = {
        "n_samples": 4,
        "selected_sequence_length": 2,
        "strategies": [DIV, {**SHARPER, "strategy": {**SHARPER["strategy"], **keep}}],
    }
    result = select_sequences(config, data, videos, frames)
    assert list(result.indices) == [0, 1]  # only the first video's sequence passes
