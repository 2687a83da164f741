"""Every adaptive path of the diversity state and the k-NN search gives the same picks and
distances as brute force: lazy frontier or eager updates, pruned or full passes, clustered or
not, forced refreshes, ties and duplicates; and cancel works inside the long phases."""

from __future__ import annotations

import numpy as np
import pytest

from curation.benchmarks import engine_data as bench_data
from curation.selection import ArrayData, SelectionCancelled, diversity, select
from curation.selection.diversity import DiversityState
from curation.selection.kernels_knn import knn_distances
from tests.support.selection_reference import farthest_point_greedy


def _data(kind: str, n: int = 5000, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "clustered":
        centers = rng.normal(size=(20, dim)) * 4
        return (centers[rng.integers(0, 20, n)] + rng.normal(size=(n, dim))).astype(np.float32)
    if kind == "sphere":
        return bench_data.sphere(n, dim, seed=seed)
    if kind == "duplicates":  # every point 4 times
        return np.repeat(rng.normal(size=(n // 4, dim)).astype(np.float32), 4, axis=0)
    if kind == "grid":  # small integers: many exactly tied distances
        return rng.integers(-2, 3, size=(n, dim)).astype(np.float32)
    raise AssertionError(kind)


def _greedy(st: DiversityState, steps: int) -> list[int]:
    st.add(0)
    for _ in range(steps):
        T = st.near_max()
        st.add(int(T[int(np.argmax(st.exact_delta(T)))]))
    return list(st.selected)


@pytest.mark.parametrize("kind", ["clustered", "sphere", "duplicates", "grid"])
@pytest.mark.parametrize(
    "options",
    [
        {"lazy": True},
        {"lazy": True, "prune": True},
        {"lazy": True, "prune": False, "frontier": 3},
        {"lazy": False},
        {"lazy": False, "prune": True},
        {"lazy": False, "prune": False},
    ],
)
def test_every_mode_equals_brute_force(kind, options):
    X = _data(kind)
    st = DiversityState(X, None, **options)
    assert _greedy(st, 120) == farthest_point_greedy(X, 120)
    if options.get("prune"):
        assert st.k > 1
    if options.get("prune") is False:
        assert st.k == 1


@pytest.mark.parametrize("read_cost", [0.0, 1e9])  # always pruned passes / always full passes
def test_pruned_and_full_passes_agree(monkeypatch, read_cost):
    monkeypatch.setattr(diversity, "READ", read_cost)
    monkeypatch.setattr(diversity, "MAX_PENDING", 5)  # many forced refreshes
    X = _data("clustered", seed=3)
    rows = np.flatnonzero(np.arange(len(X)) % 7 != 3)
    for lazy in (True, False):
        st = DiversityState(X, rows, lazy=lazy, prune=True, copy_limit=0)
        assert _greedy(st, 90) == farthest_point_greedy(X[rows], 90)
        passes = st.stats["pruned_passes"] if read_cost else st.stats["full_passes"]
        assert passes > 0


def test_the_probe_clusters_structured_data_and_leaves_isotropic_data_alone():
    for lazy in (True, False):
        flat = DiversityState(_data("sphere", n=8000, dim=256), None, lazy=lazy)
        _greedy(flat, 1000)
        assert flat.k == 1  # a projection bound cannot prune isotropic data: no clustering
        lumpy = DiversityState(_data("clustered", n=8000, dim=64), None, lazy=lazy)
        _greedy(lumpy, 1000)
        assert lumpy.k > 1


def _config(n: int, *extra: dict) -> dict:
    div = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}
    return {"n_samples": n, "strategies": [div, *extra]}


@pytest.mark.parametrize("kind", ["clustered", "sphere", "duplicates", "grid"])
def test_lazy_and_eager_runs_of_select_pick_the_same(kind):
    """Diversity alone runs lazily; with a constant weight term (same argmax) it runs
    eagerly; both must equal the brute-force greedy, explanation included."""
    X = _data(kind, n=6000)
    const = {"input": {"type": "METADATA", "key": "one"}, "strategy": {"type": "WEIGHTS"}}
    data = ArrayData(embeddings={"default": X}, metadata={"one": np.ones(len(X))})
    lazy = select(_config(150), data)
    eager = select(_config(150, const), data)
    assert lazy.indices.tolist() == farthest_point_greedy(X, 149)
    assert eager.indices.tolist() == lazy.indices.tolist()
    np.testing.assert_array_equal(eager.explanation[:, 0], lazy.explanation[:, 0])


def _brute_knn(X: np.ndarray, k: int) -> np.ndarray:
    X64 = X.astype(np.float64)
    out = np.empty((len(X), k))
    for i in range(len(X64)):
        diff = X64 - X64[i]
        row = (diff * diff).sum(axis=1)
        row[i] = np.inf
        out[i] = np.sqrt(np.sort(row)[:k])
    return out


@pytest.mark.parametrize("kind", ["clustered", "sphere", "duplicates", "grid"])
@pytest.mark.parametrize("block", [64, 300])
def test_symmetric_knn_with_small_blocks_equals_brute_force(kind, block):
    X = _data(kind, n=2400, dim=8, seed=5)
    ref = _brute_knn(X, 6)
    np.testing.assert_array_equal(knn_distances(X, None, 6, exact=True, block=block), ref)
    approx = knn_distances(X, None, 6, exact=False, block=block, n_clusters=40)
    # float32 search: squared distances within 4 (D + 4) 2^-24 max ||x - mean||^2
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(axis=0)
    err = 4.0 * (X.shape[1] + 4) * 2.0**-24 * float((Xc * Xc).sum(axis=1).max()) * 1.1
    np.testing.assert_allclose(approx, ref, rtol=1e-5, atol=np.sqrt(err) + 1e-12)


def test_knn_cancel_stops_inside_the_block_pairs():
    X = _data("sphere", n=6000, dim=32)
    calls = []

    def check():
        calls.append(1)
        if len(calls) > 30:
            raise SelectionCancelled("the selection was cancelled")

    with pytest.raises(SelectionCancelled):
        knn_distances(X, None, 10, check=check, block=256)
    assert 30 < len(calls) < 60  # stopped within a few block pairs of the request


def test_lazy_diversity_cancel_is_prompt():
    import time

    X = bench_data.sphere(300_000, 32, seed=1)
    start = time.monotonic()

    def cancel():
        return time.monotonic() - start > 0.5

    with pytest.raises(SelectionCancelled):
        select(_config(200_000), ArrayData(embeddings={"default": X}), cancel=cancel)
    assert time.monotonic() - start < 1.5


def test_plain_loop_baseline_is_the_same_greedy():
    X = _data("clustered", n=3000)
    assert bench_data.plain_loop(X, 60).tolist() == farthest_point_greedy(X, 59)
