"""Exact k-NN for data without prunable structure (see ``kernels_knn``), and the probe that
tells such data apart.

``prunable_share`` measures, on a sample, the share of point pairs that a projected ball bound
(the bound of the clustered and symmetric searches) could rule out: the exact ``kk``-th
distance of 64 sampled points (one float32 GEMM against every point) against their distance to
512 sampled points in a 64-dimensional PCA projection, less twice the typical radius of a
ball that holds one cluster's share of the points. On isotropic vectors, low-rank-plus-noise
vectors and TF-IDF text (13k x 384) it measured 0.0000, and the bounds of the symmetric search
indeed skipped no block pair there; on the clustered 20k x 384 mixture it measured 0.18 (0.23
with twice the samples).

``knn_dense`` is the symmetric search without any bound: no projection of the whole matrix,
no k-means, no cluster order, no copy. Blocks are contiguous runs of rows, read centred from
the caller's matrix as ``[z, -|z|^2/2, 1]`` (``kernels_knn_rows``); every block pair (I, J),
I < J, is one GEMM against ``[z, 1, -|z|^2/2]`` that gives ``-d^2/2`` for both blocks' rows (a
symmetric product counts once; reading the row block per pair, or once per two pairs, measured
the same within noise on 13k x 384); each row keeps
its ``kk`` smallest values, and only entries above ``-kth/2`` (a row's current ``kk``-th,
refreshed after every merge) are merged. The blocks' own products come first and set their
rows' first ``kk`` directly (one partition, nothing to merge into). A block's candidates are
then merged once per two pairs (``BATCH``): each kept row is partitioned half as often, for
slightly staler thresholds (measured 13k x 384: isotropic 0.243 -> 0.229 s, text 0.229 ->
0.223 s; 3 or 4 pairs no better overall). Two worker threads with single-threaded BLAS each
(numpy releases the GIL in GEMM, comparisons and partitions). Exact: every entry of every pair
is compared against a value that is at least the row's final ``kk``-th. A row's kept neighbours
are one uint64 key each (the distance's float32 bits above the column, ``kernels_knn_keys``),
so a merge partitions one array instead of partitioning values and gathering their columns
twice (A/B on 13k x 384: isotropic 0.351 -> 0.342 s, text 0.349 -> 0.333 s, medians of three
alternations).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .kernels import F64, I64, Check, pca_basis
from .kernels_knn_keys import EMPTY, NO_COLUMN, merge_keys, pack, values
from .kernels_knn_rows import CentredRows
from .kernels_knn_symmetric import _run, _workers, row_top, stable_order, swapped_rows

# below this probe share the projection, k-means and ball bounds cost more than they save
DENSE_SHARE = 0.02
# pairs a block's candidates wait for before they are merged (see knn_dense)
BATCH = 2


def prunable_share(Z: CentredRows, zz: F64, kk: int, n_clusters: int, check: Check) -> float:
    """Estimated share of point pairs a projected ball bound rules out (see the module).
    Single-threaded BLAS: OpenBLAS's threads spin on after a multi-threaded call and would
    slow the search's worker threads that follow (measured: 0.28 -> 0.23 s on 13k x 384)."""
    n, dim = Z.n, Z.dim
    # the projection's basis is found on a second thread meanwhile (GEMMs release the GIL);
    # it centres its own sample, so it reads the rows as they are
    with ThreadPoolExecutor(1) as pool:
        pca = pool.submit(pca_basis, Z.X, Z.rows, 64, sample=1024) if dim > 64 else None
        rng = np.random.default_rng(3)
        idx = np.sort(rng.choice(n, size=min(n, 64), replace=False))
        kth = _sample_kth(Z, zz, idx, kk, check)
        basis = np.eye(dim) if pca is None else pca.result()[1]
    b32 = np.ascontiguousarray(basis.T, dtype=np.float32)
    samp = np.sort(rng.choice(n, size=min(n, 512), replace=False))
    Ys = Z.take(samp) @ b32  # float32 throughout: an estimate, rounding is harmless
    Yx = Z.take(idx) @ b32
    yy = np.einsum("ij,ij->i", Ys, Ys)
    D2 = Ys @ Ys.T
    D2 *= -2.0
    D2 += yy[:, None]
    D2 += yy[None, :]
    q = int(min(len(samp) - 1, max(1, round(len(samp) / max(1, n_clusters)))))
    radius = float(np.median(np.sqrt(np.maximum(np.partition(D2, q, axis=1)[:, q], 0.0))))
    kth = kth.astype(np.float32)
    xx = np.einsum("ij,ij->i", Yx, Yx)
    Dx = np.sqrt(np.maximum(xx[:, None] + yy[None, :] - 2.0 * (Yx @ Ys.T), 0.0))
    return float((Dx - 2.0 * radius > kth[:, None]).mean())


def _sample_kth(Z: CentredRows, zz: F64, idx: I64, kk: int, check: Check) -> F64:
    """The exact ``kk``-th distance of the rows ``idx`` (one float32 GEMM per chunk of
    rows, each chunk read as a block: never the whole matrix)."""
    n = Z.n
    P = Z.take(idx)
    pp = zz[idx].astype(np.float32)
    best = np.empty((len(idx), 0), dtype=np.float32)
    for a in range(0, n, 16384):
        check()
        b = min(n, a + 16384)
        G = P @ Z.block(a, b).T
        G *= -2.0
        G += zz[a:b].astype(np.float32)[None, :]
        G += pp[:, None]
        mine = (idx >= a) & (idx < b)
        G[np.flatnonzero(mine), idx[mine] - a] = np.inf  # self
        if G.shape[1] > kk:
            G = np.partition(G, kk - 1, axis=1)[:, :kk]
        best = np.concatenate([best, G], axis=1)
    kth = np.partition(best, kk - 1, axis=1)[:, kk - 1].astype(np.float64)
    return np.asarray(np.sqrt(np.maximum(kth, 0.0)))


def knn_dense(Z: CentredRows, zz: F64, kk: int, block: int, check: Check) -> tuple[F64, I64]:
    """The ``kk`` smallest float32 squared distances per row of the centred rows ``Z``
    (``zz = |z|^2``), ascending (negative rounding clamped to 0), and their rows (the lowest
    rows among tied distances). Blocks are read as augmented rows (``[z, -|z|^2/2, 1]``
    against ``[z, 1, -|z|^2/2]``) per product: no copy of the matrix."""
    n = Z.n
    if n >= 1 << 32:  # pragma: no cover - a row must fit the key's lower half
        raise ValueError("the dense k-NN search takes fewer than 2**32 rows")
    bounds = [(a, min(n, a + block)) for a in range(0, n, block)]
    nb = len(bounds)
    cur = np.full((n, kk), EMPTY, dtype=np.uint64)  # packed keys (kernels_knn_keys)
    kth = np.full(n, np.inf, dtype=np.float32)
    locks = [threading.Lock() for _ in range(nb)]
    workers = _workers() if nb >= 4 else 1

    def own(g: int) -> None:  # every row's kk smallest within its own block, self excluded
        check()
        a, b = bounds[g]
        w = b - a
        R = Z.augmented(slice(a, b), zz, swap=False)
        G = R @ swapped_rows(R, slice(0, w)).T  # -d^2 / 2: the kk largest are the kk nearest
        np.fill_diagonal(G, -np.inf)
        if w <= kk:  # every other row of the block is a neighbour
            r, q = np.nonzero(np.isfinite(G))
            with locks[g]:
                merge_keys(cur, kth, r + a, pack(-2.0 * G[r, q], q + a))
            return
        # the block's rows hold nothing yet: their kk largest entries are their state
        top = row_top(G, kk, largest=True)
        keys = pack(-2.0 * np.take_along_axis(G, top, axis=1), top + a)
        with locks[g]:
            cur[a:b] = keys
            kth[a:b] = values(keys.max(axis=1))

    # a block's candidates wait until it has seen ``BATCH`` pairs and are then merged at once:
    # each of its rows' kept keys is partitioned once per batch instead of once per pair
    pending: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(nb)]
    waiting = [0] * nb

    def flush(g: int) -> None:  # under locks[g]
        if not pending[g]:
            return
        rows, keys = (np.concatenate(part) for part in zip(*pending[g], strict=True))
        pending[g] = []
        a, b = bounds[g]
        srt = stable_order(rows - a, b - a)  # grouped by row
        merge_keys(cur, kth, rows[srt], keys[srt])

    def offer(g: int, rows: np.ndarray, keys: np.ndarray) -> None:
        with locks[g]:
            if len(rows):
                pending[g].append((rows, keys))
            waiting[g] += 1
            if waiting[g] >= BATCH:
                waiting[g] = 0
                flush(g)

    def pair(gi: int, gj: int) -> None:
        check()
        (a, b), (c, e) = bounds[gi], bounds[gj]
        R = Z.augmented(slice(a, b), zz, swap=False)
        G = R @ Z.augmented(slice(c, e), zz, swap=True).T  # -d^2 / 2
        w = e - c
        # rows of block I: entries above -kth/2 of their row (stale reads of kth are safe:
        # it only shrinks); rows of block J: entries above -kth/2 of their column
        mine = np.flatnonzero((-0.5 * kth[a:b])[:, None] < G)
        theirs = np.flatnonzero((-0.5 * kth[c:e])[None, :] < G)
        r, q = np.divmod(mine, w)
        rj, qj = np.divmod(theirs, w)
        offer(gi, r + a, pack(-2.0 * G.ravel()[mine], q + c))
        offer(gj, qj + c, pack(-2.0 * G.ravel()[theirs], rj + a))

    _run(own, [(g,) for g in range(nb)], workers)
    # pairs of neighbouring blocks first in a fixed interleaved order: each block's rows see
    # new blocks early, so their kk-th values (the merge thresholds) shrink fast
    jobs: list[tuple[int, ...]] = [(i, i + s) for s in range(1, nb) for i in range(nb - s)]
    _run(pair, jobs, workers)
    for g in range(nb):
        flush(g)
    cur.sort(axis=1)
    out_i = (cur & NO_COLUMN).astype(np.int64)
    out_i[out_i == int(NO_COLUMN)] = -1
    return values(cur).astype(np.float64), out_i
