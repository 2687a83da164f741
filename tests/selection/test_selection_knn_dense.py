"""The unbounded symmetric k-NN search (``kernels_knn_dense``) and the probe that picks it."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from curation.benchmarks import engine_data as bench_data
from curation.selection import kernels_knn, kernels_knn_dense
from curation.selection.kernels import gather_rows
from curation.selection.kernels_knn import knn_distances, typicality_scores
from curation.selection.kernels_knn_dense import DENSE_SHARE, knn_dense, prunable_share
from curation.selection.kernels_knn_keys import pack, values
from curation.selection.kernels_knn_rows import CentredRows


def _isotropic(n, dim, seed):
    X = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _clustered(n, dim, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(16, dim)) * 20
    return (centers[rng.integers(0, 16, n)] + rng.normal(size=(n, dim))).astype(np.float32)


def _centred(X):
    Z = CentredRows(X, None, X.mean(axis=0).astype(np.float32))
    return Z, Z.norms(_noop)


def _brute_knn(X, k):
    X64 = X.astype(np.float64)
    sq = (X64 * X64).sum(axis=1)
    D2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (X64 @ X64.T), 0.0)
    np.fill_diagonal(D2, np.inf)
    exact = np.empty((len(X64), k))
    for i in range(len(X64)):  # exact float64 differences for the k nearest
        near = np.argsort(D2[i], kind="stable")[: k + 8]
        diff = X64[near] - X64[i]
        exact[i] = np.sqrt(np.sort((diff * diff).sum(axis=1))[:k])
    return exact


def _noop():
    return None


def test_the_probe_sees_no_structure_in_isotropic_data_and_plenty_in_clusters():
    assert prunable_share(*_centred(_isotropic(3000, 96, 0)), 24, 55, _noop) < DENSE_SHARE
    assert prunable_share(*_centred(_clustered(3000, 96, 1)), 24, 55, _noop) > 0.5


@pytest.mark.parametrize("block", [7, 100, 256, 5000])
@pytest.mark.parametrize("kk", [1, 9, 24])
def test_dense_search_keeps_the_kk_nearest_of_every_row(block, kk):
    X = _isotropic(700, 12, 2)
    X[5] = X[6] = X[300]  # duplicates at distance 0, in different blocks
    d2, nbr = knn_dense(*_centred(X), kk, block, _noop)
    ref = _brute_knn(X, kk)
    assert (np.diff(d2, axis=1) >= 0).all()
    assert (nbr != np.arange(len(X))[:, None]).all()  # never itself
    assert (np.abs(d2[[5, 6, 300], 0]) < 1e-6).all()  # the duplicates find each other
    if kk >= 2:
        assert set(nbr[5, :2]) == {6, 300} and set(nbr[300, :2]) == {5, 6}
    # float32 search: absolute error of the squared distance is bounded by the rounding
    np.testing.assert_allclose(np.sqrt(np.maximum(d2, 0)), ref, rtol=0, atol=2e-3)
    # the rows it names are the nearest ones: their exact distances are the reference's
    X64 = X.astype(np.float64)
    named = np.sqrt(((X64[nbr] - X64[:, None, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(np.sort(named, axis=1), ref, rtol=0, atol=2e-3)


@pytest.mark.parametrize("batch", [1, 3, 50])
def test_merging_candidates_every_few_pairs_keeps_the_same_neighbours(monkeypatch, batch):
    # candidates wait for BATCH pairs before they are merged (staler thresholds, fewer
    # partitions): the values kept must not depend on it
    X = _isotropic(900, 16, 5)
    Z, zz = _centred(X)
    monkeypatch.setattr(kernels_knn_dense, "BATCH", 2)
    base, _ = knn_dense(Z, zz, 12, 64, _noop)
    monkeypatch.setattr(kernels_knn_dense, "BATCH", batch)
    d2, nbr = knn_dense(Z, zz, 12, 64, _noop)
    np.testing.assert_array_equal(d2, base)
    np.testing.assert_allclose(np.sqrt(np.maximum(d2, 0)), _brute_knn(X, 12), rtol=0, atol=2e-3)
    assert (nbr != np.arange(len(X))[:, None]).all()


@pytest.mark.parametrize("block", [16, 64, 1000])
def test_rows_with_more_tied_neighbours_than_kk_keep_exactly_kk_of_them(block):
    # groups of 40 identical points: every row has 39 neighbours at distance 0, more than kk,
    # so a block's own threshold (its kk-th largest value) is tied by many entries
    base = _isotropic(10, 8, 3)
    X = np.repeat(base, 40, axis=0)
    d2, nbr = knn_dense(*_centred(X), 9, block, _noop)
    group = np.arange(len(X)) // 40
    assert d2.shape == (400, 9) and (np.abs(d2) < 1e-6).all()
    assert (nbr >= 0).all() and (group[nbr] == group[:, None]).all()
    assert (nbr != np.arange(len(X))[:, None]).all()
    assert all(len(set(row)) == 9 for row in nbr.tolist())  # nine different neighbours


def test_unstructured_data_takes_the_dense_search_and_stays_exact(monkeypatch):
    calls = []
    real = kernels_knn_dense.knn_dense

    def spy(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr("curation.selection.kernels_knn.knn_dense", spy)
    X = _isotropic(2600, 16, 3)
    X[11] = X[2000]  # an exact duplicate: distance 0 counts, self does not
    rows = np.flatnonzero(np.arange(2600) % 7 != 3)
    ours = knn_distances(X, rows, 20, exact=True)
    assert calls == [24], "the probe should have chosen the dense search"
    np.testing.assert_array_equal(ours, _brute_knn(X[rows], 20))
    assert ours[np.searchsorted(rows, 11), 0] == 0.0


def test_clustered_data_keeps_the_bounded_search(monkeypatch):
    calls = []
    monkeypatch.setattr("curation.selection.kernels_knn.knn_dense", lambda *a, **k: calls.append(1))
    X = _clustered(2600, 16, 4)
    np.testing.assert_array_equal(knn_distances(X, None, 7, exact=True), _brute_knn(X, 7))
    assert calls == []


def _count_clustered_searches(monkeypatch) -> list[int]:
    """A list that gets one entry per call of the clustered search."""
    calls: list[int] = []
    real = kernels_knn.knn_clustered
    monkeypatch.setattr(
        kernels_knn, "knn_clustered", lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    )
    return calls


@pytest.mark.parametrize("exact", [True, False])
def test_many_moderately_tight_clusters_take_the_clustered_search_and_stay_exact(
    monkeypatch, exact
):
    # 40 topics, members spread about as far as the topics: the clustered search (one GEMM of
    # the augmented rows per block, thresholded merges) must find the same neighbours
    rng = np.random.default_rng(8)
    centers = rng.normal(size=(40, 24))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    X = centers[rng.integers(0, 40, 2600)] + 0.25 * rng.normal(size=(2600, 24)) / np.sqrt(24)
    X = X.astype(np.float32)
    calls = _count_clustered_searches(monkeypatch)
    got = knn_distances(X, None, 9, exact=exact)
    assert calls == [1]
    ref = _brute_knn(X, 9)
    if exact:
        np.testing.assert_array_equal(got, ref)
    else:  # float32 distances
        np.testing.assert_allclose(got, ref, rtol=0, atol=2e-3)


def test_the_clustered_search_with_duplicate_points_finds_their_zero_distances(monkeypatch):
    # every point twice: zero distances (kept neighbours packed as float32 bits above the
    # column, negative rounding clamped to +0) must come first, then the true neighbours
    rng = np.random.default_rng(9)
    centers = rng.normal(size=(40, 24))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    X = centers[rng.integers(0, 40, 1300)] + 0.25 * rng.normal(size=(1300, 24)) / np.sqrt(24)
    X = np.repeat(X.astype(np.float32), 2, axis=0)
    calls = _count_clustered_searches(monkeypatch)
    got = knn_distances(X, None, 9, exact=True)
    assert calls == [1]
    assert (got[:, 0] == 0.0).all()
    np.testing.assert_array_equal(got, _brute_knn(X, 9))


def test_typicality_on_unstructured_data_matches_brute_force():
    X = _isotropic(2500, 10, 5)
    d = _brute_knn(X, 20)
    ref = np.exp(-d / d.mean()).mean(axis=1)
    np.testing.assert_allclose(typicality_scores(X, None, 20), ref, rtol=0, atol=1e-6)


class _Stop(Exception):
    pass


def test_cancel_stops_the_dense_search_inside_its_blocks():
    Z, zz = _centred(_isotropic(3000, 8, 6))
    polled = []

    def check():
        polled.append(1)
        if len(polled) == 5:
            raise _Stop

    with pytest.raises(_Stop):
        knn_dense(Z, zz, 24, 200, check)  # 15 blocks: 15 own jobs and 105 pairs
    assert len(polled) < 15 + 105


def test_gathering_rows_of_a_strided_view_copies_only_those_rows():
    A = np.arange(4000 * 66, dtype=np.float32).reshape(4000, 66)
    Z = A[:, :64]  # the k-NN search's centred block without its two extra columns
    tracemalloc.start()
    out = gather_rows(Z, None, np.array([5, 3999, 7]), np.float32)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(out, A[[5, 3999, 7], :64])
    assert out.flags.c_contiguous
    assert peak < Z.nbytes / 10


def test_packed_keys_order_by_distance_then_row_with_rounding_below_zero_clamped():
    # the merges partition one uint64 key per candidate: its float32 bits must order like the
    # value (negative rounding of a duplicate's distance and -0.0 become +0), then the row
    vals = np.array([0.5, -0.0, -1e-7, 0.0, 2.0, np.inf, 1e-30], dtype=np.float32)
    cols = np.array([3, 9, 4, 1, 0, 7, 2])
    keys = np.sort(pack(vals, cols))
    assert (keys & 0xFFFFFFFF).tolist() == [1, 4, 9, 2, 3, 0, 7]
    np.testing.assert_array_equal(
        values(keys), np.array([0, 0, 0, 1e-30, 0.5, 2.0, np.inf], dtype=np.float32)
    )
    assert not np.signbit(values(keys)).any()


def _peak_ratio(X: np.ndarray, **kwargs) -> float:
    knn_distances(X, None, 10, **kwargs)  # warm up (BLAS, thread pools)
    gc.collect()
    tracemalloc.start()
    knn_distances(X, None, 10, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / X.nbytes


@pytest.mark.parametrize(("exact", "limit"), [(True, 1.9), (False, 1.6)])
def test_the_dense_search_copies_no_matrix_only_bounded_blocks(exact, limit):
    # no centred copy: two workers' augmented blocks and products, the kept keys (N x kk), the
    # float64 refinement in bounded blocks; measured 1.57x exact and 1.35x float32 (2.17x
    # with a centred copy, 4.82x when the refinement held three float64 temporaries of 2M
    # elements and each own block a whole int64 partition index)
    assert _peak_ratio(_isotropic(16000, 256, 5), exact=exact) < limit


def test_the_clustered_search_copies_no_matrix(monkeypatch):
    # each cluster's rows are gathered from the matrix when multiplied: measured 1.56x
    # float32 and 2.82x exact (its float64 refinement blocks, bounded, are as large as this
    # small matrix); 2.57x float32 with a centred copy in cluster order, 8.98x exact with two
    rng = np.random.default_rng(8)
    centers = rng.normal(size=(40, 256))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    X = centers[rng.integers(0, 40, 8000)] * 3 + 0.25 * rng.normal(size=(8000, 256)) / 16
    X = X.astype(np.float32)
    calls = _count_clustered_searches(monkeypatch)
    assert _peak_ratio(X, exact=False) < 2.0
    assert _peak_ratio(X, exact=True) < 3.2
    assert calls == [1, 1, 1, 1]


def test_the_symmetric_search_copies_no_matrix(monkeypatch):
    # structure the probe sees, clusters too loose for the clustered search (forced here): the
    # symmetric search gathers its blocks from the matrix in cluster order (measured 1.43x;
    # 2.44x with a centred copy)
    calls = []
    real = kernels_knn._knn_symmetric
    monkeypatch.setattr(
        kernels_knn, "_knn_symmetric", lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    )
    monkeypatch.setattr(kernels_knn, "cluster_share", lambda *a: 0.0)
    X = bench_data.low_rank(13000, 384, rank=8, noise=0.05)
    ratio = _peak_ratio(X, exact=False)
    assert calls == [1, 1]
    assert ratio < 1.8, ratio
