"""Seed 001 "Video Metadata Balancing with Strength", pasted as the docs write it with only its
placeholder target filled ({video_name: 1/len(videos)}): it selects the same number of frames
from every video, and the same frames as ``"distribution": "UNIFORM"`` (the placeholder-free
form), in the engine and in a run."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from curation.formats.config_text import config_from_text
from curation.models import Sample, SelectionRun
from curation.runs.services import selection_run_start
from curation.selection import ArrayData, parse_config, select
from tests.support.seeds import seed_blocks
from tests.support.sequences import frame_dataset

BLOCK = dict(seed_blocks())["001 Video Metadata Balancing with Strength"]
PLACEHOLDER = "video_name: 1/len(videos) for video_name in videos"
TARGET_LINES = (
    "\t                  video_name: 1/len(videos) for video_name in videos\n                },\n"
)


def filled(names: list[str], n: int) -> str:
    """The block with its target filled and its ``# put your number here`` number put."""
    target = ", ".join(f'"{name}": {1 / len(names)!r}' for name in names)
    text = BLOCK.replace(PLACEHOLDER, target)
    return text.replace('"n_samples": 100,', f'"n_samples": {n},')


def uniform(n: int) -> str:
    """The placeholder-free form: ``"distribution": "UNIFORM"`` instead of the target."""
    assert TARGET_LINES in BLOCK
    text = BLOCK.replace('"target": {\n' + TARGET_LINES, '"distribution": "UNIFORM",\n')
    return text.replace('"n_samples": 100,', f'"n_samples": {n},')


def test_the_block_is_pasted_verbatim_apart_from_the_target():
    text = filled(["a", "b"], 100)
    assert "float(1e9)" in text and "// Select the same number of frames" in text
    parsed = parse_config(config_from_text(text))
    assert [s.strength for s in parsed.strategies] == [1e9, 1.0]
    assert parsed.strategies[0].target == (("a", 0.5), ("b", 0.5))
    assert parse_config(config_from_text(uniform(100))).strategies[0].distribution == "UNIFORM"


@pytest.mark.parametrize("seed", range(8))
def test_the_engine_takes_as_many_frames_from_every_video(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    counts = rng.integers(6, 25, size=k)
    names = np.array([f"v{v}.mp4" for v, c in enumerate(counts) for _ in range(c)], dtype=object)
    rng.shuffle(names)
    data = ArrayData(
        embeddings={"default": rng.normal(size=(len(names), 8))},
        metadata={"video_name": names},
    )
    n = k * int(rng.integers(1, int(counts.min()) + 1))
    videos = [f"v{v}.mp4" for v in range(k)]
    picks = select(config_from_text(filled(videos, n)), data).indices
    assert sorted(Counter(names[picks]).values()) == [n // k] * k
    assert list(picks) == list(select(config_from_text(uniform(n)), data).indices)


VIDEOS = {"clips/a.mp4": 10, "clips/b.mp4": 7, "c.mov": 9}


def per_video(run: SelectionRun) -> dict[str, int]:
    names = Sample.objects.filter(pk__in=run.pick_order).values_list("video__name", flat=True)
    return dict(Counter(names))


def test_a_run_of_the_seed_config_balances_the_videos(dataset, alice):
    frame_dataset(dataset, VIDEOS, seed=5)  # frames only: an image has no video_name
    runs = []
    for tag, text in (("seed", filled(list(VIDEOS), 12)), ("uniform", uniform(12))):
        run = selection_run_start(
            dataset=dataset,
            config=config_from_text(text),
            result_tag_name=tag,
            user=alice,
            candidate_filter=None,
            execute="inline",
        )
        assert run.status == SelectionRun.Status.SUCCEEDED, run.error
        runs.append(run)
    assert per_video(runs[0]) == {name: 4 for name in VIDEOS}
    assert runs[0].pick_order == runs[1].pick_order


def test_the_seed_config_balances_sequences_too(dataset, alice):
    frame_dataset(dataset, VIDEOS, seed=6)
    config = config_from_text(filled(list(VIDEOS), 12))
    run = selection_run_start(
        dataset=dataset,
        config={**config, "selected_sequence_length": 2},
        result_tag_name="pairs",
        user=alice,
        execute="inline",
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    assert per_video(run) == {name: 4 for name in VIDEOS}  # two sequences of 2 each
