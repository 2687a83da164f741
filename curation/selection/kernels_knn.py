"""Exact k-nearest-neighbour distances (typicality), distances to a query set (similarity) and
the nearest rows of one row (the sample page's neighbours, ``nearest_to_row``).

Both work block by block with float32 GEMM on mean-centred vectors (centering removes most of
the cancellation in ``||x||^2 + ||y||^2 - 2 x.y``); nothing of size N x N is ever allocated.
The k-NN search computes every block pair once for both blocks (a symmetric product counts
once), keeps only entries below each row's current k-th value, and skips block pairs whose
projected bounding balls prove them too far, so it stays exact on any data and gets faster the
more structure the data has. A probe (``kernels_knn_dense.prunable_share``) first measures
on a sample whether such bounds could rule anything out; where they cannot (isotropic,
low-rank-plus-noise and TF-IDF text embeddings measured 0.0000), ``knn_dense`` runs the same
symmetric search without projection, k-means or bounds (about a quarter less CPU time on
13k x 384). Every exact search reads the rows it multiplies centred from the caller's matrix
(``kernels_knn_rows``: slices for the dense search, gathers by cluster for the others), so
no search copies the matrix: extra memory is O(N k) for the kept neighbours, O(N) for the
projection and bounded blocks. Peak traced memory over the float32 matrix, against the former
centred copy: typicality 13k x 384 unclustered 1.98x -> 1.28x (1-3 % slower), clustered
20k x 384 1.92x -> 1.14x (4-7 % slower: gathered rather than contiguous blocks), 100k x 384
1.69x -> 0.69x; symmetric 13k x 384 2.44x -> 1.43x.

``approximate_knn_distances`` (typicality above ``KnnOptions.approximate_above`` candidates,
or when asked) runs the IVF search of ``kernels_knn_approx`` on the same blocks and
reports its recall@K, measured against exact search on sampled rows, in the run's notes.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .kernels import F64, I64, Check, _noop, _sqdist, gather_rows, kmeans, pair_sq
from .kernels_blas import single_threaded_blas
from .kernels_knn_approx import (
    TARGET_RECALL,
    IvfInfo,
    exact_neighbours,
    knn_ivf,
    measure_recall,
)
from .kernels_knn_clustered import cluster_balls, cluster_share, knn_clustered
from .kernels_knn_dense import DENSE_SHARE, knn_dense, prunable_share
from .kernels_knn_rows import CentredRows, shift32
from .kernels_knn_symmetric import _knn_symmetric, _projection
from .options import KnnOptions


def knn_distances(
    X: np.ndarray,
    rows: I64 | None,
    k: int,
    *,
    check: Check = _noop,
    n_clusters: int | None = None,
    exact: bool | None = None,
    block: int | None = None,
) -> F64:
    """Euclidean distances to the ``k`` nearest other points, sorted ascending, (n, k) float64.

    ``exact`` (default: only for small problems, n * k * D <= 5e7) re-evaluates the
    neighbours' distances in float64; otherwise values carry float32 rounding (~1e-6 relative
    on mean-centred data).

    Candidates come from a float32 search (``k + 4`` per point, clusters pruned with the
    triangle inequality); their distances are then recomputed in float64 from the original
    vectors, so the result is exact. Self is excluded by position (duplicates count, at 0).
    """
    with single_threaded_blas():
        return _knn_distances(X, rows, k, check, n_clusters, exact, block)


def _knn_distances(
    X: np.ndarray,
    rows: I64 | None,
    k: int,
    check: Check,
    n_clusters: int | None,
    exact: bool | None,
    block: int | None,
) -> F64:
    n = X.shape[0] if rows is None else len(rows)
    k = min(k, n - 1)
    kk = min(k + 4, n - 1)
    if exact is None:
        exact = n * kk * X.shape[1] <= 50_000_000
    if not exact:  # the extra candidates only serve the float64 refinement
        kk = k
    # the search reads blocks of the input (no copy); the refinement reads it again in float64
    approx, nbr, err = _search(X, rows, kk, check, n_clusters, block)
    if not exact:  # float32-accurate distances straight from the (centred) search
        return _refine_small(X, rows, approx[:, :k], nbr[:, :k], 100.0 * err, check)
    return _refine(X, rows, approx, nbr, k, err, check)


def _search(
    X: np.ndarray,
    rows: I64 | None,
    kk: int,
    check: Check,
    n_clusters: int | None,
    block: int | None,
) -> tuple[F64, I64, float]:
    """The ``kk`` nearest candidates of every row from the float32 search that suits the data
    (see the module), and the float32 error bound of their squared distances."""
    dim = X.shape[1]
    shift = shift32(X, rows, check)
    src = CentredRows(X, rows, shift)  # the centred rows, read in blocks
    n = src.n
    zz = src.norms(check)
    err = 4.0 * (dim + 4) * 2.0**-24 * float(zz.max()) * 1.01 + 1e-300
    auto = n_clusters is None
    if n_clusters is None:
        n_clusters = max(1, min(1024, round(math.sqrt(n))))
    n_clusters = min(n_clusters, n)
    if n_clusters <= 1 or (auto and n < 2000):
        return (*_knn_block_all(src.block(0, n), zz, kk, check), err)
    if auto and prunable_share(src, zz, kk, n_clusters, check) < DENSE_SHARE:
        # nothing to prune: no bounds, and no copy (every block pair reads its blocks)
        return (*knn_dense(src, zz, kk, block or 1024, check), err)
    if block is None:
        block = 1024 if n < 65536 else 2048
    Y = _projection(src, check)
    _, labels = kmeans(Y, None, n_clusters, check=check, iters=6, seed=1)
    balls = cluster_balls(Y, labels)
    # both searches gather the rows they multiply from the matrix: no copy
    if cluster_share(balls, Y, src, kk) < 0.5:
        return (*_knn_symmetric(src, zz, kk, Y, balls.order, err, block, check), err)
    del Y  # the search needs the projections in cluster order only (balls.Ys)
    return (*knn_clustered(src, zz, kk, balls, err, check), err)


def _refine_small(
    X: np.ndarray, rows: I64 | None, approx: F64, nbr: I64, limit: float, check: Check
) -> F64:
    """Distances from the float32 search, with every squared distance below ``limit`` (a
    hundred times the float32 error: near-duplicates, where that error is large relative to
    the distance) recomputed in float64 and the rows re-sorted."""
    out = np.sqrt(np.maximum(approx, 0.0))
    r, c = np.nonzero(approx < limit)
    if not len(r):
        return out
    src = np.arange(len(approx)) if rows is None else rows
    out[r, c] = np.sqrt(pair_sq(X, src[r], src[nbr[r, c]], check))
    touched = np.unique(r)
    out[touched] = np.sort(out[touched], axis=1)
    return out


def _knn_block_all(Z: np.ndarray, zz: F64, kk: int, check: Check) -> tuple[F64, I64]:
    n = len(Z)
    out_d = np.empty((n, kk), dtype=np.float64)
    out_i = np.empty((n, kk), dtype=np.int64)
    block = max(1, min(n, 2_000_000 // max(n, 1)))
    for a in range(0, n, block):
        check()
        ii = np.arange(a, min(n, a + block))
        D2 = _sqdist(Z[ii], zz[ii], Z, zz).astype(np.float64)
        D2[np.arange(len(ii)), ii] = np.inf
        part = np.argpartition(D2, kk - 1, axis=1)[:, :kk]
        pd = np.take_along_axis(D2, part, axis=1)
        srt = np.argsort(pd, axis=1)
        out_d[a : a + len(ii)] = np.take_along_axis(pd, srt, axis=1)
        out_i[a : a + len(ii)] = np.take_along_axis(part, srt, axis=1)
    return out_d, out_i


def _refine(
    X: np.ndarray, rows: I64 | None, approx: F64, nbr: I64, k: int, err: float, check: Check
) -> F64:
    """Exact float64 distances to the k nearest, from float32 candidates (``kk`` per point)."""
    n, kk = nbr.shape
    src = np.arange(n) if rows is None else rows
    out = np.empty((n, k), dtype=np.float64)
    # a point's candidate list is provably complete when its last candidate is beyond the
    # k-th by more than the float32 error (or when it holds every other point)
    unsure = (
        np.zeros(n, dtype=bool) if kk >= n - 1 else approx[:, kk - 1] <= approx[:, k - 1] + 2 * err
    )
    block = max(16, min(2048, 1_000_000 // max(1, kk * X.shape[1])))  # bounded temporaries
    for a in range(0, n, block):
        check()
        b = min(n, a + block)
        P = np.take(X, src[a:b], axis=0).astype(np.float64)
        Q = np.take(X, src[nbr[a:b]].reshape(-1), axis=0).astype(np.float64)
        Q = Q.reshape(b - a, kk, -1)
        Q -= P[:, None, :]  # in place: one block-sized temporary, the same values
        np.multiply(Q, Q, out=Q)
        d2 = Q.sum(axis=2)
        out[a:b] = np.sqrt(np.sort(d2, axis=1)[:, :k])
    unsure_rows = np.flatnonzero(unsure)
    allx = np.take(X, src, axis=0).astype(np.float64) if len(unsure_rows) and n <= 4096 else None
    for i in unsure_rows:
        check()
        full = _row_exact(X, src, int(i), allx)
        full[i] = np.inf
        out[i] = np.sqrt(np.sort(full)[:k])
    return out


def _row_exact(X: np.ndarray, src: I64, i: int, allx: np.ndarray | None) -> F64:
    x = np.asarray(X[src[i]], dtype=np.float64)
    res = np.empty(len(src), dtype=np.float64)
    block = 2048  # one float64 temporary of block x D (the same values as diff * diff)
    for a in range(0, len(src), block):
        if allx is not None:
            diff = allx[a : a + block] - x
        else:
            diff = np.take(X, src[a : a + block], axis=0).astype(np.float64)
            diff -= x
        np.multiply(diff, diff, out=diff)
        res[a : a + len(diff)] = diff.sum(axis=1)
    return res


def typicality_scores(
    X: np.ndarray,
    rows: I64 | None,
    k: int,
    *,
    check: Check = _noop,
    knn: KnnOptions | None = None,
    notes: list[str] | None = None,
) -> F64:
    """``typ_i = mean_j exp(-d_ij / sigma)`` over the k nearest neighbours (K capped at n-1),
    ``sigma`` = mean of all those distances (1 when every distance is 0).

    ``knn`` (default: exact at any size) may choose the approximate search, which appends a
    sentence with its measured recall to ``notes``."""
    n = X.shape[0] if rows is None else len(rows)
    if knn is not None and knn.approximate(n):
        dist = approximate_knn_distances(X, rows, k, check=check, notes=notes, options=knn)
    else:
        dist = knn_distances(X, rows, k, check=check)
    sigma = float(dist.mean())
    if sigma == 0.0 or not math.isfinite(sigma):
        return np.ones(len(dist), dtype=np.float64)
    return np.asarray(np.exp(-dist / sigma).mean(axis=1), dtype=np.float64)


def approximate_knn_distances(
    X: np.ndarray,
    rows: I64 | None,
    k: int,
    *,
    check: Check = _noop,
    notes: list[str] | None = None,
    options: KnnOptions | None = None,
    nlist: int | None = None,
    nprobe: int | None = None,
    target_recall: float = TARGET_RECALL,
) -> F64:
    """Distances to (approximately) the ``k`` nearest other points, ascending, (n, k) float64:
    the IVF search of ``kernels_knn_approx`` (``nprobe`` chosen for ``target_recall`` unless
    given); its recall@k, measured against exact search on up to 1,000 sampled rows, goes
    into ``notes`` with how ``nprobe`` was chosen."""
    with single_threaded_blas():
        t0 = time.perf_counter()
        Z = CentredRows(X, rows, shift32(X, rows, check))  # read in blocks: no copy
        n, dim = Z.n, Z.dim
        k = min(k, n - 1)
        zz = Z.norms(check)
        d2, nbr, info = knn_ivf(
            Z, zz, k, nlist=nlist, nprobe=nprobe, target_recall=target_recall, check=check
        )
        short = np.flatnonzero(nbr[:, -1] < 0)  # lists too small to hold k neighbours
        if len(short):
            d2[short], nbr[short] = exact_neighbours(Z, zz, short.astype(np.int64), k, check)
        # the exact reference costs queries * n * D: at most ~2e11 multiply-adds
        queries = int(max(100, min(1000, 2e11 // max(1, n * dim))))
        recall, sampled = measure_recall(Z, zz, d2, k, queries=queries, check=check)
        err = 4.0 * (dim + 4) * 2.0**-24 * float(zz.max()) * 1.01 + 1e-300
        dist = _refine_small(X, rows, d2.astype(np.float64), nbr, 100.0 * err, check)
    if notes is not None:
        why = (
            f"more than approximate_above={options.approximate_above:,} candidates"
            if options is not None and options.mode == "auto"
            else "knn mode approximate"
        )
        notes.append(
            f"typicality used approximate nearest neighbours ({why}: {n:,} candidates; "
            f"IVF with {info.nlist:,} lists, {info.nprobe} searched per list{_chosen(info)}, "
            f"{time.perf_counter() - t0:.1f} s): recall@{k} {recall:.3f}, measured against "
            f"exact search for {sampled:,} sampled candidates"
        )
    return dist


def _chosen(info: IvfInfo) -> str:
    """How the IVF search's ``nprobe`` was chosen, for the run's note."""
    if info.estimated_recall is None:
        return " (as given)"
    if info.capped:
        return (
            f" (the cap: target recall {info.target_recall:g} not reachable within it, "
            f"estimated {info.estimated_recall:.3f} on {info.sampled:,} sampled candidates)"
        )
    return (
        f" (chosen for target recall {info.target_recall:g}: estimated "
        f"{info.estimated_recall:.3f} on {info.sampled:,} sampled candidates)"
    )


def min_query_distance(
    X: np.ndarray, rows: I64 | None, Q: np.ndarray, *, check: Check = _noop
) -> F64:
    """``min_q ||x_i - q||`` for every universe point, exact float64.

    Blocked float64 GEMM finds the nearest queries; those within the rounding error of the
    minimum are re-evaluated as ``sum((x - q)^2)``.
    """
    n = X.shape[0] if rows is None else len(rows)
    Q64 = np.asarray(Q, dtype=np.float64)
    mean = Q64.mean(axis=0)
    Qc = Q64 - mean
    qq = np.einsum("ij,ij->i", Qc, Qc)
    out = np.empty(n, dtype=np.float64)
    block = max(1, min(16384, 4_000_000 // max(len(Q64), 1)))
    for a in range(0, n, block):
        check()
        X64 = gather_rows(X, rows, slice(a, min(n, a + block)), np.float64)
        P = X64 - mean
        pp = np.einsum("ij,ij->i", P, P)
        D2 = _sqdist(P, pp, Qc, qq)
        err = 8.0 * (Q64.shape[1] + 4) * 2.0**-53 * (pp + float(qq.max())) + 1e-300
        mins = D2.min(axis=1)
        limit = (mins + 2.0 * err)[:, None]
        close = np.less_equal(D2, limit)
        single = close.sum(axis=1) == 1
        q_idx = np.argmin(D2, axis=1)
        diff = X64 - Q64[q_idx]
        res = (diff * diff).sum(axis=1)
        for r in np.flatnonzero(~single):
            dq = Q64[close[r]] - X64[r]
            res[r] = (dq * dq).sum(axis=1).min()
        out[a : a + len(P)] = np.sqrt(res)
    return out


def nearest_to_row(
    X: np.ndarray, row: int, k: int, *, cosine: bool, chunk: int = 262_144
) -> tuple[I64, F64]:
    """The ``k`` rows of ``X`` nearest to row ``row`` (itself excluded), nearest first (ties
    by row), and their distances: ``1 - x.q`` with ``cosine`` (unit-length rows), else
    Euclidean. One float32 matrix-vector pass in chunks of ``chunk`` rows, so a memory-mapped
    matrix is never read whole; values carry float32 rounding."""
    query = np.asarray(X[row], dtype=np.float32)
    if cosine:
        distance = 1.0 - _chunked_matvec(X, query, chunk)
    else:
        dots = _chunked_matvec(X, query, chunk)
        distance = np.sqrt(np.maximum(_chunked_sq_norms(X, chunk) - 2 * dots + query @ query, 0))
    distance[row] = np.inf
    count = min(k, len(distance) - 1)
    if count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    top = np.argpartition(distance, count - 1)[:count]
    top = top[np.argsort(distance[top], kind="stable")]
    return top.astype(np.int64), distance[top].astype(np.float64)


def _chunked_matvec(X: np.ndarray, query: np.ndarray, chunk: int) -> np.ndarray:
    out = np.empty(X.shape[0], dtype=np.float32)
    for start in range(0, X.shape[0], chunk):
        out[start : start + chunk] = X[start : start + chunk] @ query
    return out


def _chunked_sq_norms(X: np.ndarray, chunk: int) -> np.ndarray:
    out = np.empty(X.shape[0], dtype=np.float32)
    for start in range(0, X.shape[0], chunk):
        block = np.asarray(X[start : start + chunk])
        out[start : start + chunk] = np.einsum("ij,ij->i", block, block)
    return out
