"""The symmetric blocked k-NN search (see ``kernels_knn``): every block pair once, for both
blocks; entries merged only below a row's current k-th value; pairs, sides and rows skipped by
projected ball bounds. Also the helpers the other searches share (worker threads, swapped rows,
row grouping). Kept neighbours are packed keys (``kernels_knn_keys``); blocks are gathered in
cluster order from the matrix, centred and augmented (``kernels_knn_rows``): no copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import numpy as np

from .kernels import F64, I64, Check, pca_basis
from .kernels_blas import all_blas_threads, usable_cpus
from .kernels_knn_keys import EMPTY, NO_COLUMN, merge_keys, pack, values
from .kernels_knn_rows import CentredRows


def _workers() -> int:
    return max(1, min(4, usable_cpus()))


def _run(fn: Callable[..., None], jobs: list[tuple[int, ...]], workers: int) -> None:
    """``fn(*job)`` for every job, in order, on ``workers`` threads; the first error (e.g. a
    cancel) stops the jobs not yet started and is raised."""
    if workers <= 1:
        for job in jobs:
            fn(*job)
        return
    stop = threading.Event()

    def guarded(*job: int) -> None:
        if stop.is_set():  # another job failed (or was cancelled): start nothing new
            return
        try:
            fn(*job)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(guarded, *job) for job in jobs]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)  # an error stops every queued job
        finally:
            for f in futures:
                f.cancel()
        for f in futures:
            if not f.cancelled():
                f.result()


def swapped_rows(A: np.ndarray, idx: I64 | slice) -> np.ndarray:
    """Rows ``idx`` of the augmented ``[z, -|z|^2/2, 1]`` as ``[z, 1, -|z|^2/2]``: the other
    side of the product that gives ``-d^2/2``. A slice is copied column by column (no gather);
    an index array is gathered once and its last two columns swapped in place."""
    dim = A.shape[1] - 2
    if isinstance(idx, slice):
        rows = A[idx]
        B = np.empty(rows.shape, dtype=A.dtype)
        B[:, :dim] = rows[:, :dim]
        B[:, dim] = rows[:, dim + 1]
        B[:, dim + 1] = rows[:, dim]
        return B
    B = np.take(A, idx, axis=0)
    B[:, [dim, dim + 1]] = B[:, [dim + 1, dim]]
    return B


def row_top(G: np.ndarray, kk: int, *, largest: bool) -> I64:
    """The columns of each row's ``kk`` largest (or smallest) entries, in no order: an
    ``argpartition`` per 256 rows, whose transient index matrix then stays 2 MiB per 1,024
    columns instead of 8 (a whole block's, on each worker thread, set the k-NN search's peak)."""
    w = G.shape[1]
    kth = w - kk if largest else kk - 1
    out = np.empty((len(G), kk), dtype=np.int64)
    for a in range(0, len(G), 256):
        part = np.argpartition(G[a : a + 256], kth, axis=1)
        out[a : a + 256] = part[:, w - kk :] if largest else part[:, :kk]
    return out


def stable_order(keys: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``[0, bound)``: as 16-bit keys
    (a radix sort, 13x faster on 7k keys) when they fit."""
    if bound <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    return np.argsort(keys, kind="stable")


def _projection(Z: CentredRows, check: Check) -> np.ndarray:
    """The points in a 64-dimensional PCA projection (float32; ||P x - P y|| <= ||x - y||).
    The basis centres its own sample, so it reads the rows as they are."""
    _, basis = pca_basis(Z.X, Z.rows, 64)
    b32 = np.ascontiguousarray(basis.T, dtype=np.float32)
    Y = np.empty((Z.n, len(basis)), dtype=np.float32)
    # single-threaded: OpenBLAS's threads spin for ~0.1 s after a multi-threaded call, and
    # the worker threads that follow would share the cores with them (measured: clustered
    # typicality 20k x 384 0.30 -> 0.29 s; dense 13k x 384 knn 0.28 -> 0.23 s after the probe)
    for a in range(0, Z.n, 16384):
        check()
        Y[a : a + 16384] = Z.block(a, min(Z.n, a + 16384)) @ b32
    return Y


def _block_balls(
    Y: np.ndarray, order: I64, bounds: list[tuple[int, int]], dim: int, max_norm: float
) -> tuple[F64, F64]:
    """Centre and radius of every block (rows ``order[a:b]``) in the projection ``Y``, whose
    float32 rounding (sqrt(m) (D + 3) u max ||x||) the radius includes."""
    centers = np.empty((len(bounds), Y.shape[1]))
    radius = np.empty(len(bounds))
    for g, (a, b) in enumerate(bounds):
        P = Y[order[a:b]].astype(np.float64)
        centers[g] = P.mean(axis=0)
        diff = P - centers[g]
        radius[g] = float(np.sqrt(np.einsum("ij,ij->i", diff, diff).max()))
    slack = 1.1 * np.sqrt(Y.shape[1]) * (dim + 3) * 2.0**-24 * max_norm
    return centers, radius * (1.0 + 1e-9) + slack


def _knn_symmetric(
    Z: CentredRows,
    zz: F64,
    kk: int,
    Y: np.ndarray,
    order: I64,
    err: float,
    block: int,
    check: Check,
) -> tuple[F64, I64]:
    """The ``kk`` smallest float32 squared distances per point (any choice among ties).

    Points are put in cluster order and cut into blocks; every block pair (I, J), I <= J, is
    one GEMM of augmented rows ``[z, -|z|^2/2, 1] . [z, 1, -|z|^2/2] = -d^2/2``, used for both
    I's and J's rows (a symmetric product counts once). Only entries below a row's current
    ``kk``-th value are merged. Pairs run own block first, then by increasing distance of the
    blocks' projected balls; a side is skipped when its ball bound exceeds every row's
    ``kk``-th value (plus the float32 error ``err``): exact for any data, fast on clusters.
    """
    n, dim = Z.n, Z.dim
    bounds = [(a, min(n, a + block)) for a in range(0, n, block)]
    nb = len(bounds)
    centers, radius = _block_balls(Y, order, bounds, dim, float(np.sqrt(zz.max())))
    slack = 1.1 * np.sqrt(Y.shape[1]) * (dim + 3) * 2.0**-24 * float(np.sqrt(zz.max()))
    Yo = Y[order]  # O(N) (64 numbers per point): per-row bounds against a block's ball
    del Y
    cc = np.einsum("ij,ij->i", centers, centers)
    cdist = np.sqrt(np.maximum(cc[:, None] + cc[None, :] - 2.0 * (centers @ centers.T), 0.0))
    lower = cdist * (1.0 - 1e-12) - 1e-9 * np.sqrt(cc.max()) - radius[:, None] - radius[None, :]
    lower = np.maximum(lower, 0.0) * (1.0 - 1e-9)
    cur = np.full((n, kk), EMPTY, dtype=np.uint64)  # packed keys (kernels_knn_keys)
    kth = np.full(n, np.inf, dtype=np.float32)
    iu, ju = np.triu_indices(nb, 1)
    workers = _workers() if nb >= 4 else 1
    locks = [threading.Lock() for _ in range(nb)]
    block_of = {a: g for g, (a, _) in enumerate(bounds)}

    def rows_of(idx: slice | I64, swap: bool = False) -> np.ndarray:
        # blocks are gathered in cluster order from the matrix, centred and augmented (4 bytes
        # per row element, against 2 b FLOP of product per element): no copy of the matrix
        return Z.augmented(order[idx], zz, swap)

    def product(a: int, b: int, c: int, e: int) -> np.ndarray:
        AI = rows_of(slice(a, b))
        same = (a, b) == (c, e)
        return gemm(AI, swapped_rows(AI, slice(None)) if same else rows_of(slice(c, e), True))

    def gemm(AI: np.ndarray, BJ: np.ndarray) -> np.ndarray:
        if workers > 1:  # each worker thread runs single-threaded BLAS
            return np.asarray(AI @ BJ.T)
        with all_blas_threads():
            return np.asarray(AI @ BJ.T)

    def row_bounds(a: int, b: int, g: int) -> np.ndarray:
        """Squared lower bounds of the distance from rows a..b to any row of block g."""
        diff = Yo[a:b].astype(np.float64) - centers[g]
        lb = np.sqrt(np.einsum("ij,ij->i", diff, diff)) - slack - radius[g]
        lb = np.maximum(lb, 0.0) * (1.0 - 1e-9)
        return np.asarray(lb * lb)

    def own(g: int) -> None:  # own block: every row's kk smallest at once (self excluded)
        check()
        a, b = bounds[g]
        G = product(a, b, a, b)
        G *= -2.0
        np.fill_diagonal(G, np.inf)
        if G.shape[1] < kk:
            G = np.pad(G, ((0, 0), (0, kk - G.shape[1])), constant_values=np.inf)
        part = row_top(G, kk, largest=False)
        cols = np.where(part < b - a, part + a, int(NO_COLUMN))  # padding: no row
        cur[a:b] = pack(np.take_along_axis(G, part, axis=1), cols)
        kth[a:b] = values(cur[a:b].max(axis=1))

    def pair(gi: int, gj: int) -> None:
        check()
        (a, b), (c, e) = bounds[gi], bounds[gj]
        lb2 = lower[gi, gj] ** 2
        # rows of I that block J can still improve, and rows of J that I can (ball bounds
        # first, then each row against the other block's ball); stale kth lets more through
        need_i = row_bounds(a, b, gj) <= kth[a:b] + err if lb2 <= kth[a:b].max() + err else None
        need_j = row_bounds(c, e, gi) <= kth[c:e] + err if lb2 <= kth[c:e].max() + err else None
        ri = None if need_i is None or not need_i.any() else np.flatnonzero(need_i)
        cj = None if need_j is None or not need_j.any() else np.flatnonzero(need_j)
        if ri is None and cj is None:
            return
        share = (0 if ri is None else len(ri) / (b - a)) + (0 if cj is None else len(cj) / (e - c))
        if share >= 1.0:  # one symmetric product serves both sides
            G = product(a, b, c, e)  # -d^2 / 2
            if ri is not None:
                merge_rows(G, a, np.arange(b - a), c)
            if cj is not None:
                merge_cols(G, a, c, np.arange(e - c))
            return
        if ri is not None:
            merge_rows(gemm(rows_of(a + ri), rows_of(slice(c, e), True)), a, ri, c)
        if cj is not None:
            merge_cols(gemm(rows_of(slice(a, b)), rows_of(c + cj, True)), a, c, cj)

    def merge_rows(G: np.ndarray, a: int, ri: I64, c: int) -> None:
        """Entries of G (rows a + ri, columns from c) below their row's kk-th value."""
        w = G.shape[1]
        flat = np.flatnonzero((-0.5 * kth[a + ri])[:, None] < G)  # 10x a 2-D nonzero
        r, q = np.divmod(flat, w)
        with locks[block_of[a]]:
            merge_keys(cur, kth, a + ri[r], pack(-2.0 * G.ravel()[flat], q + c))

    def merge_cols(G: np.ndarray, a: int, c: int, cj: I64) -> None:
        """Entries of G (rows from a, columns c + cj) below their column's kk-th value."""
        w = G.shape[1]
        flat = np.flatnonzero((-0.5 * kth[c + cj])[None, :] < G)
        r, q = np.divmod(flat, w)
        srt = stable_order(q, w)
        r, q, flat = r[srt], q[srt], flat[srt]
        with locks[block_of[c]]:
            merge_keys(cur, kth, c + cj[q], pack(-2.0 * G.ravel()[flat], r + a))

    _run(own, [(g,) for g in range(nb)], workers)
    _run(
        pair, [(int(iu[t]), int(ju[t])) for t in np.argsort(lower[iu, ju], kind="stable")], workers
    )
    cur.sort(axis=1)
    out_d = np.empty((n, kk), dtype=np.float64)
    out_i = np.empty((n, kk), dtype=np.int64)
    out_d[order] = values(cur)
    out_i[order] = order[(cur & NO_COLUMN).astype(np.int64)]
    return out_d, out_i
