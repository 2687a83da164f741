"""The pruned kernels equal brute force."""

from __future__ import annotations

import numpy as np
import pytest

from curation.selection.kernels_knn import knn_distances, min_query_distance


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
