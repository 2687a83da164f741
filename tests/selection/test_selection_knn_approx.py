"""Approximate typicality (IVF k-NN): recall reported and above a stated floor on seeded data,
exact mode unchanged, the ``knn`` option validated with errors naming it, and cancel inside
the k-NN phase."""

from __future__ import annotations

import re

import numpy as np
import pytest

from curation.benchmarks import engine_data as bench_data
from curation.selection import (
    ArrayData,
    ConfigError,
    KnnOptions,
    SelectionCancelled,
    knn_options,
    select,
)
from curation.selection import kernels_knn_approx as approx
from curation.selection.kernels_knn import (
    _centered32,
    approximate_knn_distances,
    knn_distances,
    typicality_scores,
)

TYP = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "TYPICALITY"}}
CONFIG = {"n_samples": 20, "strategies": [TYP]}
# the recall floor on the seeded mixture below (measured 1.000; IVF misses only neighbours
# in lists it did not search, which a 64-component mixture rarely has)
RECALL_FLOOR = 0.95


def _mixture(n: int = 12_000, dim: int = 24) -> np.ndarray:
    return bench_data.mixture(n, dim, seed=4)[0]


def _recall_in(messages: list[str]) -> float:
    (note,) = [m for m in messages if "approximate nearest neighbours" in m]
    match = re.search(r"recall@20 ([0-9.]+), measured against exact search for ([0-9,]+)", note)
    assert match, note
    return float(match.group(1))


def test_approximate_mode_reports_its_recall_above_the_floor():
    X = _mixture()
    res = select(CONFIG, ArrayData(embeddings={"e": X}), knn={"mode": "approximate"})
    recall = _recall_in(res.messages)
    assert recall >= RECALL_FLOOR
    assert len(res.indices) == 20
    # the reported figure is the measured one: the same measurement by hand
    Z = _centered32(X, None, lambda: None)
    zz = np.einsum("ij,ij->i", Z, Z).astype(np.float64)
    d2, _, _ = approx.knn_ivf(Z, zz, 20)
    assert approx.measure_recall(Z, zz, d2, 20)[0] == pytest.approx(recall, abs=5e-4)


def test_approximate_distances_are_real_neighbours_never_below_exact():
    X = _mixture(6000, 16)
    exact = knn_distances(X, None, 20, exact=True)
    found = approximate_knn_distances(X, None, 20)
    assert found.shape == exact.shape
    assert np.all(np.diff(found, axis=1) >= 0)
    assert np.all(found >= exact - 1e-4 * (1 + exact))  # never better than exact
    same = np.isclose(found, exact, rtol=1e-4, atol=1e-6)
    assert same.mean() >= RECALL_FLOOR  # most neighbours are the true ones


def test_low_recall_is_reported_not_hidden():
    """One list searched per list on isotropic data: the note says how poor it is."""
    X = bench_data.sphere(4000, 32, seed=2)
    notes: list[str] = []
    approximate_knn_distances(X, None, 20, notes=notes, nlist=64, nprobe=1)
    match = re.search(r"recall@20 ([0-9.]+)", notes[0])
    assert match and float(match.group(1)) < 0.5
    assert "IVF with 64 lists, 1 searched per list" in notes[0]


def test_tiny_lists_fall_back_to_exact_neighbours():
    X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    found = approximate_knn_distances(X, None, 20, nlist=20, nprobe=1)
    np.testing.assert_allclose(found, knn_distances(X, None, 20, exact=True), rtol=1e-5)


def test_exact_mode_is_unchanged_and_auto_switches_above_the_threshold():
    X = _mixture(3000, 16)
    data = ArrayData(embeddings={"e": X})
    default = select(CONFIG, data)
    exact = select(CONFIG, data, knn={"mode": "exact", "approximate_above": 10})
    below = select(CONFIG, data, knn={"approximate_above": 3000})
    assert default.indices.tolist() == exact.indices.tolist() == below.indices.tolist()
    assert not default.messages and not exact.messages and not below.messages
    np.testing.assert_array_equal(
        typicality_scores(X, None, 20), typicality_scores(X, None, 20, knn=KnnOptions("exact"))
    )
    above = select(CONFIG, data, knn={"approximate_above": 2999})
    assert "more than approximate_above=2,999 candidates: 3,000 candidates" in above.messages[0]
    assert _recall_in(above.messages) >= RECALL_FLOOR


@pytest.mark.parametrize(
    "value,path,words",
    [
        ({"approximate_above": -1}, "knn.approximate_above", "whole number"),
        ({"approximate_above": "100k"}, "knn.approximate_above", "whole number"),
        ({"approximate_above": True}, "knn.approximate_above", "whole number"),
        ({"approximate_above": 1.5}, "knn.approximate_above", "whole number"),
        ({"mode": "fast"}, "knn.mode", "auto, exact, approximate"),
        ({"probes": 3}, "knn.probes", "unknown option"),
        ("approximate", "knn", "must be an object"),
    ],
)
def test_the_knn_option_is_validated_naming_it(value, path, words):
    with pytest.raises(ConfigError) as exc:
        knn_options(value)
    assert exc.value.path == path
    assert words in str(exc.value)
    with pytest.raises(ConfigError):  # before any work
        select(CONFIG, ArrayData(embeddings={"e": _mixture(100, 4)}), knn=value)


def test_knn_defaults():
    assert knn_options(None) == KnnOptions("auto", 200_000)
    assert knn_options({"mode": "approximate"}).approximate(10)
    assert not knn_options({"mode": "auto"}).approximate(200_000)
    assert knn_options({"mode": "auto"}).approximate(200_001)
    assert not knn_options({"mode": "exact", "approximate_above": 0}).approximate(10**9)


@pytest.mark.parametrize("phase", ["_assign", "one-list"])
def test_cancel_inside_the_knn_phase(monkeypatch, phase):
    """A cancel requested while the IVF search runs stops it within a block."""
    X = _mixture(20_000, 16)
    inside = {"on": False, "checks": 0}
    real_assign = approx._assign
    real_merge = approx._merge_into

    def assign(*args, **kwargs):
        if phase == "_assign":
            inside["on"] = True
        return real_assign(*args, **kwargs)

    def merge(*args, **kwargs):
        inside["on"] = True
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(approx, "_assign", assign)
    monkeypatch.setattr(approx, "_merge_into", merge)

    def check():
        if inside["on"]:
            inside["checks"] += 1
            raise SelectionCancelled("the selection was cancelled")

    with pytest.raises(SelectionCancelled):
        approximate_knn_distances(X, None, 20, check=check)
    # the first check after the request stops it (and at most one more per worker thread)
    assert 1 <= inside["checks"] <= 3

    # through select(): the engine's cancel callback reaches the k-NN loops
    inside["on"] = False
    with pytest.raises(SelectionCancelled):
        select(
            CONFIG,
            ArrayData(embeddings={"e": X}),
            cancel=lambda: inside["on"],
            knn={"mode": "approximate"},
        )
