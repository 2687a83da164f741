"""Progress is throttled to one call per ~0.2 s (plus a final one); cancel stops promptly."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from curation.selection import ArrayData, SelectionCancelled, engine, select


def _weights_problem(n_samples, N):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 8)).astype(np.float32)
    config = {
        "n_samples": n_samples,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            {"input": {"type": "METADATA", "key": "w"}, "strategy": {"type": "WEIGHTS"}},
        ],
    }
    return config, ArrayData(embeddings={"default": X}, metadata={"w": rng.random(N)})


class _Clock:
    """A clock that advances 10 ms whenever it is read: the throttling is then the same on a
    fast and a slow machine (a real clock saw a whole run in under 0.4 s on a fast one)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 0.01
        return self.now


def test_progress_is_throttled_and_ends_with_total(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(
        engine, "time", SimpleNamespace(monotonic=clock.monotonic, perf_counter=time.perf_counter)
    )
    config, data = _weights_problem(600, 30_000)
    calls = []
    select(config, data, progress=lambda done, total: calls.append((clock.now, done, total)))
    assert calls[-1][1:] == (600, 600)
    gaps = np.diff([t for t, _, _ in calls[:-1]])
    assert len(calls) >= 3, "the run should be long enough to report several times"
    assert (gaps >= 0.19).all()
    dones = [d for _, d, _ in calls]
    assert dones == sorted(dones)


def test_progress_is_called_once_for_a_tiny_run():
    config, data = _weights_problem(3, 20)
    calls = []
    select(config, data, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 3), (3, 3)] or calls == [(3, 3)]


@pytest.mark.parametrize("after", [0.05, 0.6])
def test_cancel_raises_promptly(after):
    """``after`` = 0.05 cancels during preparation (clustering), 0.6 during the greedy loop."""
    rng = np.random.default_rng(1)
    N = 400_000
    X = rng.normal(size=(N, 32)).astype(np.float32)
    config = {
        "n_samples": 100_000,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            {"input": {"type": "RANDOM", "random_seed": 1}, "strategy": {"type": "WEIGHTS"}},
        ],
    }
    start = time.monotonic()
    flipped = []

    def cancel():
        if time.monotonic() - start > after:
            if not flipped:
                flipped.append(time.monotonic())
            return True
        return False

    with pytest.raises(SelectionCancelled):
        select(config, ArrayData(embeddings={"default": X}), cancel=cancel)
    assert flipped, "cancel was never polled"
    assert time.monotonic() - (start + after) < 0.5
