"""The pruned kernels equal brute force."""

from __future__ import annotations

import numpy as np
import pytest

from curation.selection import kernels
from curation.selection.kernels_knn import knn_distances, min_query_distance
from tests.support.selection_reference import farthest_point_greedy


def _mixture(n, dim, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(12, dim)) * 2
    return (centers[rng.integers(0, 12, n)] + rng.normal(size=(n, dim))).astype(np.float32)


def _brute_knn(X, k):
    X64 = X.astype(np.float64)
    out = []
    for i in range(len(X64)):
        diff = X64 - X64[i]
        d2 = (diff * diff).sum(axis=1)
        d2[i] = np.inf
        out.append(np.sqrt(np.sort(d2)[:k]))
    return np.array(out)


@pytest.mark.parametrize("exact", [True, False])
def test_clustered_knn_equals_brute_force(exact):
    X = _mixture(3000, 24, 0)
    X[10] = X[20]  # an exact duplicate: distance 0 counts, self does not
    ours = knn_distances(X, None, 7, exact=exact)
    ref = _brute_knn(X, 7)
    assert ours[10, 0] == 0.0
    if exact:
        np.testing.assert_array_equal(ours, ref)
    else:
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_knn_on_a_subset_of_rows():
    X = _mixture(2500, 8, 1)
    rows = np.flatnonzero(np.arange(2500) % 3 != 0)
    np.testing.assert_array_equal(knn_distances(X, rows, 5), _brute_knn(X[rows], 5))


def test_min_query_distance_is_exact():
    X = _mixture(500, 6, 2)
    Q = np.vstack([X[:3], X[:3]])  # duplicated queries, zero distances
    d = min_query_distance(X, None, Q)
    ref = np.sqrt(
        np.array(
            [((Q.astype(np.float64) - x) ** 2).sum(axis=1).min() for x in X.astype(np.float64)]
        )
    )
    np.testing.assert_array_equal(d, ref)
    assert (d[:3] == 0).all()


def _adversarial(kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "clustered":
        return _mixture(600, 16, seed)
    if kind == "duplicates":
        base = _mixture(150, 8, seed)
        return np.vstack([base, base, base[:50], base[:50]])  # each point 2-4 times
    if kind == "identical":
        return np.ones((300, 5), dtype=np.float32) * 3.5
    if kind == "d1":
        return rng.integers(0, 40, size=(400, 1)).astype(np.float32)  # many ties
    if kind == "tiny":
        return rng.normal(size=(7, 3)).astype(np.float32)
    if kind == "far":
        X = rng.normal(size=(500, 6)).astype(np.float32)
        X[:5] += 1e3  # a few far outliers with a large norm
        return X
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["clustered", "duplicates", "identical", "d1", "tiny", "far"])
@pytest.mark.parametrize("n_clusters", [1, 3, 25, 1000])
@pytest.mark.parametrize("k", [1, 5, 40])
def test_clustered_knn_adversarial_equals_brute_force(kind, n_clusters, k):
    X = _adversarial(kind)
    kk = min(k, len(X) - 1)
    ours = knn_distances(X, None, k, n_clusters=n_clusters, exact=True)
    np.testing.assert_array_equal(ours, _brute_knn(X, kk))
    approx = knn_distances(X, None, k, n_clusters=n_clusters, exact=False)
    # float32 search: squared distances carry an absolute error of the order of
    # D * 2^-24 * max ||x - mean||^2 (sqrt of it near zero)
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(axis=0)
    err = 4.0 * (X.shape[1] + 4) * 2.0**-24 * float((Xc * Xc).sum(axis=1).max()) * 1.1
    np.testing.assert_allclose(approx, _brute_knn(X, kk), rtol=1e-5, atol=np.sqrt(err) + 1e-12)


def test_clustered_knn_with_rows_and_many_clusters():
    X = _mixture(3000, 12, 3)
    rows = np.flatnonzero(np.arange(3000) % 4 != 1)
    ref = _brute_knn(X[rows], 9)
    for nc in (2, 47, 300):
        np.testing.assert_array_equal(knn_distances(X, rows, 9, n_clusters=nc, exact=True), ref)


def test_typicality_scores_match_brute_force():
    from curation.selection.kernels_knn import typicality_scores

    X = _mixture(2500, 10, 4)
    X[5] = X[6]
    d = _brute_knn(X, 20)
    sigma = d.mean()
    ref = np.exp(-d / sigma).mean(axis=1)
    np.testing.assert_allclose(typicality_scores(X, None, 20), ref, rtol=0, atol=1e-9)


def test_single_threaded_blas_restores_thread_count():
    from curation.selection.kernels_blas import blas_threads, single_threaded_blas

    before = blas_threads()
    with single_threaded_blas():
        if before is not None:
            assert blas_threads() == 1
        with single_threaded_blas():
            pass
        if before is not None:
            assert blas_threads() == 1
    assert blas_threads() == before


def _greedy(st, steps):
    st.add(0)
    for _ in range(steps):
        T = st.near_max()
        d = st.exact_delta(T)
        st.add(int(T[int(np.argmax(d))]))
    return list(st.selected)


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("copy_limit", [0, 1 << 30])
def test_diversity_state_with_and_without_working_copy(copy_limit, lazy):
    from curation.selection.diversity import DiversityState

    X = _mixture(6000, 20, 5)
    X[100:110] = X[0]  # duplicates of the first pick
    rows = np.flatnonzero(np.arange(6000) % 5 != 2)
    st = DiversityState(X, rows, copy_limit=copy_limit, lazy=lazy)
    assert (st.M is None) == (copy_limit == 0)
    assert _greedy(st, 60) == farthest_point_greedy(X[rows], 60)
    st = DiversityState(X.astype(np.float64), None, copy_limit=copy_limit, lazy=lazy)
    assert _greedy(st, 40) == farthest_point_greedy(X, 40)
    # a float32 matrix is used as it is, never copied
    assert DiversityState(X, None, copy_limit=copy_limit).M is X


def test_all_blas_threads_lends_every_thread_to_one_call_only(monkeypatch):
    from curation.selection.kernels_blas import (
        all_blas_threads,
        blas_threads,
        single_threaded_blas,
    )

    monkeypatch.setattr("curation.selection.kernels_blas.lending_pays", lambda: True)
    before = blas_threads()
    if before is None:
        pytest.skip("OpenBLAS thread control is not available here")
    with single_threaded_blas():
        with all_blas_threads():
            assert blas_threads() == before
        assert blas_threads() == 1
    with all_blas_threads():  # outside a single-threaded block it changes nothing
        assert blas_threads() == before
    assert blas_threads() == before


def test_all_blas_threads_lends_nothing_while_every_cpu_is_busy(monkeypatch):
    from curation.selection import kernels_blas

    before = kernels_blas.blas_threads()
    if before is None or before < 2:
        pytest.skip("OpenBLAS thread control with several threads is not available here")
    monkeypatch.setattr(kernels_blas.os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    assert not kernels_blas.lending_pays()
    with kernels_blas.single_threaded_blas(), kernels_blas.all_blas_threads():
        assert kernels_blas.blas_threads() == 1
    monkeypatch.setattr(kernels_blas.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    with kernels_blas.single_threaded_blas(), kernels_blas.all_blas_threads():
        assert kernels_blas.blas_threads() == before
    assert kernels_blas.blas_threads() == before


@pytest.mark.parametrize("chunk", [kernels.PAIR_CHUNK, 40])  # 40: 2 pairs a chunk
def test_float32_knn_gives_near_duplicates_their_float64_distances(monkeypatch, chunk):
    # pairs 1e-4 apart, far from the mean: float32 rounding alone would swamp their distance,
    # so the search recomputes them in float64 (a chunk of pairs at a time)
    monkeypatch.setattr(kernels, "PAIR_CHUNK", chunk)
    rng = np.random.default_rng(4)
    base = rng.normal(size=(300, 16)) * 50
    X = np.concatenate([base, base + rng.normal(size=base.shape) * 1e-4]).astype(np.float32)
    rows = np.arange(len(X))  # through a universe of rows, as select() passes them
    approx = knn_distances(X, rows, 1, exact=False)
    truth = _brute_knn(X, 1)
    np.testing.assert_allclose(approx, truth, rtol=1e-12, atol=0)
