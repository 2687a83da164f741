"""The engine's shared kernels used outside the engine: sample-id alignment (``RowIndex``),
the map's PCA projection (``pca_project``), the nearest rows of one row, and k-means
assignments split over threads."""

from __future__ import annotations

import numpy as np
import pytest

from curation.selection import kernels
from curation.selection.kernels import pca_project
from curation.selection.kernels_align import AlignmentError, RowIndex, align_rows, row_of
from curation.selection.kernels_knn import nearest_to_row


@pytest.mark.parametrize("ids", [[3, 9, 4, 12], [3, 4, 9, 12]])  # any order, ascending
def test_row_index_finds_rows_and_reports_missing_ids(ids):
    index = RowIndex(np.array(ids))
    rows, found = index.find(np.array([4, 5, 12, 1, 99]))
    assert found.tolist() == [True, False, True, False, False]
    assert [ids[r] for r in rows[found]] == [4, 12]
    assert [ids[r] for r in index.rows(np.array([12, 7, 3]))] == [12, 3]
    assert np.array(ids)[index.mask(np.array([9, 3, 100]))].tolist() == sorted(
        [9, 3], key=ids.index
    )


def test_align_rows_names_the_missing_ids():
    assert align_rows(np.array([7, 5, 6]), np.array([5, 6, 7])).tolist() == [1, 2, 0]
    with pytest.raises(AlignmentError, match=r"^2 of 3 sample ids have no row \(8, 9\)"):
        align_rows(np.array([7, 5, 6]), np.array([5, 8, 9]))


def test_an_empty_index_finds_nothing():
    rows, found = RowIndex(np.zeros(0, dtype=np.int64)).find(np.array([1, 2]))
    assert rows.tolist() == [0, 0] and not found.any()
    assert row_of(np.array([4, 2]), 2) == 1 and row_of(np.array([4, 2]), 3) is None


def test_pca_project_matches_an_exact_svd_and_reads_in_chunks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)) * np.array([9.0, 1, 1, 4, 1, 1])
    out = pca_project(X, 2, chunk=7)
    centred = X - X.mean(axis=0)
    vt = np.linalg.svd(centred, full_matrices=False)[2]
    assert out.dtype == np.float32 and out.shape == (300, 2)
    assert np.allclose(out, centred @ vt[:2].T, atol=1e-4)
    assert pca_project(np.ones((1, 3)), 2).tolist() == [[0.0, 0.0]]  # one row: no axes


@pytest.mark.parametrize("cosine", [True, False])
def test_nearest_to_row_is_the_brute_force_top_k(cosine):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 8)).astype(np.float32)
    if cosine:
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    rows, dist = nearest_to_row(X, 3, 5, cosine=cosine, chunk=16)
    X64 = X.astype(np.float64)
    brute = 1.0 - X64 @ X64[3] if cosine else np.linalg.norm(X64 - X64[3], axis=1)
    brute[3] = np.inf
    assert rows.tolist() == np.argsort(brute)[:5].tolist()
    assert np.allclose(dist, brute[rows], atol=1e-5)
    assert nearest_to_row(X[:1], 0, 5, cosine=cosine)[0].tolist() == []


def test_large_k_means_assignments_split_over_threads_give_the_nearest_center(monkeypatch):
    rng = np.random.default_rng(4)
    P = rng.normal(size=(10_000, 32)).astype(np.float32)
    C = rng.normal(size=(60, 32)).astype(np.float32)
    calls = []
    rows = kernels._assign_rows

    def counted(block, centers):
        calls.append(len(block))
        return rows(block, centers)

    monkeypatch.setattr(kernels, "_assign_rows", counted)
    monkeypatch.setattr(kernels, "usable_cpus", lambda: 2)
    labels = kernels._assign(P, C)
    assert sorted(calls) == [1808, 4096, 4096]  # row chunks, each on a worker thread
    exact = ((P[:, None, :].astype(np.float64) - C[None, :, :]) ** 2).sum(axis=2)
    best = exact[np.arange(len(P)), labels]
    assert (best <= exact.min(axis=1) + 1e-3).all()
