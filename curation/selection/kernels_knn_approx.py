"""Approximate k-nearest-neighbour distances (typicality above a size): an inverted-file (IVF)
index in numpy, and the recall of a search measured against exact search on a sample.

The rows (mean-centred float32, as the exact search uses them) are split into ``nlist``
k-means lists (centres from Lloyd iterations on a sample, every row assigned to its nearest
centre). The rows of one list are searched together: one GEMM against the rows of the
``nprobe`` lists whose centres are nearest to that list's centre (its own first), and each row
keeps its ``k`` smallest distances (itself excluded). Work: ``n * nprobe * n / nlist * D``
multiply-adds instead of ``n^2 D``. Neighbours a row misses lie in lists that were not probed;
``measure_recall`` says how often that happens (recall@K: the share of a sampled row's true
k nearest that the search found, ties counted by distance).

Invariants: the returned distances are true distances of real neighbours (float32 from the
centred rows, near-duplicates recomputed in float64), sorted ascending, so they can only
overestimate the exact k-NN distances; ``check`` is called between lists and between blocks
of every pass, so a cancel stops the search within one block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kernels import F64, I64, Check, _noop
from .kernels_knn_symmetric import _merge_into, _run, _workers

# measured on 100k-1M x 128 mixtures (2 cores; the engine benchmark's typicality_approx and
# typicality_1m): sqrt(n) lists with 12 searched per list gave recall@20 0.999 at 100k (1.7 s,
# exact 4.2 s) and 0.90 at 1M (45 s); 16 lists searched raise recall on isotropic clusters
# (0.84 -> 0.94 at 100k) for a third more time
LIST_FACTOR = 1.0  # nlist = LIST_FACTOR * sqrt(n)
DEFAULT_NPROBE = 12


@dataclass
class IvfInfo:
    """How an approximate search ran (for the run's notes)."""

    nlist: int
    nprobe: int
    seconds: float = 0.0


def _assign(Z: np.ndarray, zz: np.ndarray, C: np.ndarray, check: Check, block: int = 8192) -> I64:
    """Nearest centre of every row (float32 scores, two worker threads)."""
    n = len(Z)
    cc = np.einsum("ij,ij->i", C, C)
    labels = np.empty(n, dtype=np.int64)

    def one(a: int) -> None:
        check()
        S = Z[a : a + block] @ C.T
        S *= -2.0
        S += cc[None, :]
        labels[a : a + len(S)] = np.argmin(S, axis=1)

    _run(one, [(a,) for a in range(0, n, block)], _workers())
    return labels


def _centres(Z: np.ndarray, nlist: int, check: Check, seed: int) -> np.ndarray:
    """k-means centres from Lloyd iterations on a sample of ~32 rows per list (float32)."""
    n = len(Z)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, 32 * nlist), replace=False))
    S = Z[sample]
    ss = np.einsum("ij,ij->i", S, S)
    C = S[rng.choice(len(S), size=nlist, replace=False)].copy()
    for _ in range(6):
        check()
        lab = _assign(S, ss, C, check)
        counts = np.bincount(lab, minlength=nlist).astype(np.float64)
        sums = np.zeros((nlist, Z.shape[1]), dtype=np.float64)
        np.add.at(sums, lab, S)
        keep = counts > 0
        C[keep] = (sums[keep] / counts[keep, None]).astype(np.float32)
    return C


def knn_ivf(
    Z: np.ndarray,
    zz: F64,
    k: int,
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    check: Check = _noop,
    seed: int = 0,
) -> tuple[np.ndarray, I64, IvfInfo]:
    """Approximate ``k`` smallest squared distances (float32, ascending) and their rows, for
    every row of the centred float32 matrix ``Z`` (norms ``zz``); rows with fewer than ``k``
    candidates are padded with ``inf`` / -1."""
    n = len(Z)
    if nlist is None:
        nlist = int(max(1, min(n // 8 if n >= 8 else 1, round(LIST_FACTOR * math.sqrt(n)))))
    nlist = max(1, min(nlist, n))
    nprobe = max(1, min(nlist, nprobe or DEFAULT_NPROBE))
    C = _centres(Z, nlist, check, seed)
    labels = _assign(Z, zz, C, check)
    order = np.argsort(labels, kind="stable").astype(np.int64)
    counts = np.bincount(labels, minlength=nlist)
    starts = np.zeros(nlist + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    cc = np.einsum("ij,ij->i", C, C).astype(np.float64)
    C64 = C.astype(np.float64)
    cd = cc[:, None] + cc[None, :] - 2.0 * (C64 @ C64.T)
    np.fill_diagonal(cd, -np.inf)  # own list first
    probes = np.argsort(cd, axis=1, kind="stable")[:, :nprobe]
    out_d = np.full((n, k), np.inf, dtype=np.float32)
    out_i = np.full((n, k), -1, dtype=np.int64)
    zs = zz.astype(np.float32)
    qblock = 1024

    def one(g: int) -> None:
        a, b = int(starts[g]), int(starts[g + 1])
        if a == b:
            return
        lists = [h for h in probes[g].tolist() if starts[h + 1] > starts[h]]
        cand = np.concatenate([order[starts[h] : starts[h + 1]] for h in lists])
        Zc = Z[cand]
        zc = zs[cand]
        kk = min(k, len(cand) - 1)
        if kk <= 0:
            return
        for q0 in range(a, b, qblock):
            check()
            q1 = min(b, q0 + qblock)
            rows = order[q0:q1]
            D2 = Z[rows] @ Zc.T
            D2 *= -2.0
            D2 += zc[None, :]
            D2 += zs[rows][:, None]
            # own list first in ``cand``: row q0 + i of ``order`` is column q0 - a + i
            D2[np.arange(q1 - q0), np.arange(q0 - a, q1 - a)] = np.inf
            # a row's kk-th value among the first columns (its own and the nearest lists)
            # bounds its kk-th overall: only entries at or below it are merged (a compare
            # pass costs a fraction of a partition of every entry)
            w = D2.shape[1]
            w0 = min(w, max(4 * kk, 2048))
            thr = np.partition(D2[:, :w0], kk - 1, axis=1)[:, kk - 1]
            flat = np.flatnonzero(thr[:, None] >= D2)
            r, c = np.divmod(flat, w)
            cur = np.full((q1 - q0, kk), np.inf, dtype=np.float32)
            cur_i = np.full((q1 - q0, kk), -1, dtype=np.int64)
            _merge_into(cur, cur_i, np.empty(q1 - q0, np.float32), r, D2.ravel()[flat], c)
            srt = np.argsort(cur, axis=1)
            out_d[rows, :kk] = np.maximum(np.take_along_axis(cur, srt, axis=1), 0.0)
            got = np.take_along_axis(cur_i, srt, axis=1)
            out_i[rows, :kk] = np.where(got >= 0, cand[np.maximum(got, 0)], -1)

    work = np.argsort(-counts, kind="stable").tolist()  # the largest lists first
    _run(one, [(g,) for g in work], _workers())
    return out_d, out_i, IvfInfo(nlist=nlist, nprobe=nprobe)


def exact_neighbours(
    Z: np.ndarray, zz: F64, queries: I64, k: int, check: Check = _noop
) -> tuple[np.ndarray, I64]:
    """Exact (float32) ``k`` smallest squared distances of the rows ``queries`` to all rows
    and their rows, ascending, self excluded: brute force in blocks of rows (the reference of
    ``measure_recall``, and the fallback for rows whose probed lists are too small)."""
    n = len(Z)
    Q = Z[queries]
    qq = zz[queries].astype(np.float32)
    zs = zz.astype(np.float32)
    best = np.full((len(queries), k), np.inf, dtype=np.float32)
    best_i = np.full((len(queries), k), -1, dtype=np.int64)
    block = max(1024, 2_000_000 // max(1, len(queries)))  # bounded temporaries
    for a in range(0, n, block):
        check()
        b = min(n, a + block)
        D2 = Q @ Z[a:b].T
        D2 *= -2.0
        D2 += zs[None, a:b]
        D2 += qq[:, None]
        own = np.flatnonzero((queries >= a) & (queries < b))
        D2[own, queries[own] - a] = np.inf
        both = np.concatenate([best, D2], axis=1)
        both_i = np.concatenate([best_i, np.broadcast_to(np.arange(a, b), D2.shape)], axis=1)
        part = np.argpartition(both, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(both, part, axis=1)
        best_i = np.take_along_axis(both_i, part, axis=1)
    srt = np.argsort(best, axis=1)
    dist = np.maximum(np.take_along_axis(best, srt, axis=1), 0.0)
    return dist, np.take_along_axis(best_i, srt, axis=1)


def measure_recall(
    Z: np.ndarray,
    zz: F64,
    found: np.ndarray,
    k: int,
    *,
    queries: int = 1000,
    check: Check = _noop,
    seed: int = 0,
) -> tuple[float, int]:
    """recall@k of the approximate squared distances ``found`` (n x k, ascending) on
    ``queries`` sampled rows: the share of each row's true k nearest the search found,
    counting a found neighbour as true when its distance is within the exact k-th (ties)."""
    n = len(Z)
    q = min(n, queries)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=q, replace=False)).astype(np.int64)
    exact = exact_neighbours(Z, zz, sample, k, check)[0]
    kth = exact[:, -1:].astype(np.float64)
    slack = 1e-5 * np.maximum(kth, float(zz.max()) * 1e-6)
    hits = (found[sample].astype(np.float64) <= kth + slack).sum(axis=1)
    return float(np.minimum(hits, k).mean() / k), q
