"""Approximate k-nearest-neighbour distances (typicality above a size): an inverted-file (IVF)
index in numpy, and the recall of a search measured against exact search on a sample.

The rows (mean-centred float32, as the exact search uses them) are split into ``nlist``
k-means lists (centres from Lloyd iterations on a sample, every row assigned to its nearest
centre). The rows of one list are searched together: one GEMM against the rows of the
``nprobe`` lists whose centres are nearest to that list's centre (its own first), and each row
keeps its ``k`` smallest distances (itself excluded). Work: ``n * nprobe * n / nlist * D``
multiply-adds instead of ``n^2 D``. Neighbours a row misses lie in lists that were not probed;
``measure_recall`` says how often that happens (recall@K: the share of a sampled row's true
k nearest that the search found, ties counted by distance). Unless the caller sets it,
``nprobe`` comes from the data: ``choose_nprobe`` finds, for the exact k nearest of a seeded
sample, the rank of each neighbour's list in the probe order of its row's list, and takes the
fewest lists (``DEFAULT_NPROBE`` .. ``probe_cap``) whose estimated recall reaches
``TARGET_RECALL``; the measured recall after the search stays the reported figure.

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
from .kernels_knn_keys import EMPTY, NO_COLUMN, merge_keys, pack, values
from .kernels_knn_rows import CentredRows, Rows, as_centred
from .kernels_knn_symmetric import _run, _workers

# measured on 100k-1M x 128 mixtures (2 cores; the engine benchmark's typicality_approx and
# typicality_1m): sqrt(n) lists with 12 searched per list gave recall@20 0.999 at 100k (1.7 s,
# exact 4.2 s) and 0.90 at 1M (45 s). On the scale benchmark's near-isotropic data (10 centres
# * 3 + N(0, 1) noise: 32 lists per cluster at 100k, neighbours spread over most of them) 12
# lists gave only 0.845, so nprobe is now chosen from the data. Typicality K=20 at 100k x 128
# (2 cores shared with another benchmark: times loose, before/after alternated): isotropic 17
# lists chosen, recall 0.845 -> 0.948, 8.0 -> 8.6-9.0 s (exact 19.7 s); mixture 12 chosen,
# recall 0.999 either way, 5.7 -> 6.1-7.1 s (the sample's exact search: 0.4 s at 100k, 4 s at
# 1M). At 1M the mixture gets 17 lists: recall 0.902 -> 0.956, 97 -> 150-191 s on the loaded
# machine; the isotropic data gets 47 of a cap of 125. The cap nlist // 8: the search alone at
# 100k isotropic took 8.8 s CPU at 39 lists (nlist // 8), 17.6 s at 79 (nlist // 4), exact
# 17.9 s.
LIST_FACTOR = 1.0  # nlist = LIST_FACTOR * sqrt(n)
DEFAULT_NPROBE = 12  # the fewest lists searched per list when nprobe is chosen from the data
TARGET_RECALL = 0.95  # the estimated recall@k the chosen nprobe must reach
PROBE_SAMPLE = 256  # rows whose exact neighbours estimate the recall of every nprobe
# the most lists searched per list: nlist // 8 keeps the GEMM work at n^2 D / 8, a quarter of
# the exact symmetric search's n^2 D / 2 (which cannot prune on isotropic data)
PROBE_CAP_DIVISOR = 8


@dataclass
class IvfInfo:
    """How an approximate search ran (for the run's notes). ``estimated_recall`` (None when
    the caller set ``nprobe``) is the recall@k that ``nprobe`` gives on ``sampled`` rows;
    ``capped``: ``target_recall`` was not reachable within ``probe_cap(nlist)`` lists."""

    nlist: int
    nprobe: int
    seconds: float = 0.0
    estimated_recall: float | None = None
    target_recall: float | None = None
    sampled: int = 0
    capped: bool = False


def probe_cap(nlist: int) -> int:
    """The most lists a chosen ``nprobe`` may search per list (never below the default)."""
    return min(nlist, max(DEFAULT_NPROBE, nlist // PROBE_CAP_DIVISOR))


def _assign(Z: CentredRows, C: np.ndarray, check: Check, block: int = 8192) -> I64:
    """Nearest centre of every row (float32 scores, two worker threads)."""
    n = Z.n
    cc = np.einsum("ij,ij->i", C, C)
    labels = np.empty(n, dtype=np.int64)

    def one(a: int) -> None:
        check()
        S = Z.block(a, min(n, a + block)) @ C.T
        S *= -2.0
        S += cc[None, :]
        labels[a : a + len(S)] = np.argmin(S, axis=1)

    _run(one, [(a,) for a in range(0, n, block)], _workers())
    return labels


def _centres(Z: CentredRows, nlist: int, check: Check, seed: int) -> np.ndarray:
    """k-means centres from Lloyd iterations on a sample of ~32 rows per list (float32)."""
    n = Z.n
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, 32 * nlist), replace=False))
    S = Z.take(sample)
    rows_s = as_centred(S)
    C = S[rng.choice(len(S), size=nlist, replace=False)].copy()
    for _ in range(6):
        check()
        lab = _assign(rows_s, C, check)
        counts = np.bincount(lab, minlength=nlist).astype(np.float64)
        sums = np.zeros((nlist, Z.dim), dtype=np.float64)
        np.add.at(sums, lab, S)
        keep = counts > 0
        C[keep] = (sums[keep] / counts[keep, None]).astype(np.float32)
    return C


def ivf_lists(
    Z: Rows, zz: F64, nlist: int | None = None, *, check: Check = _noop, seed: int = 0
) -> tuple[I64, I64]:
    """The list of every row (``nlist``, default ``LIST_FACTOR * sqrt(n)``, k-means lists)
    and the probe order of every list: all lists by centre distance, its own first."""
    Z = as_centred(Z)
    n = Z.n
    if nlist is None:
        nlist = int(max(1, min(n // 8 if n >= 8 else 1, round(LIST_FACTOR * math.sqrt(n)))))
    nlist = max(1, min(nlist, n))
    C = _centres(Z, nlist, check, seed)
    labels = _assign(Z, C, check)
    cc = np.einsum("ij,ij->i", C, C).astype(np.float64)
    C64 = C.astype(np.float64)
    cd = cc[:, None] + cc[None, :] - 2.0 * (C64 @ C64.T)
    np.fill_diagonal(cd, -np.inf)  # own list first
    return labels, np.argsort(cd, axis=1, kind="stable").astype(np.int64)


def knn_ivf(
    Z: Rows,
    zz: F64,
    k: int,
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    target_recall: float = TARGET_RECALL,
    check: Check = _noop,
    seed: int = 0,
) -> tuple[np.ndarray, I64, IvfInfo]:
    """Approximate ``k`` smallest squared distances (float32, ascending) and their rows, for
    every row of the centred float32 matrix ``Z`` (norms ``zz``); rows with fewer than ``k``
    candidates are padded with ``inf`` / -1.

    ``nprobe`` (lists searched per list) is used as given; without it ``choose_nprobe`` picks
    the fewest (at least ``DEFAULT_NPROBE``, at most ``probe_cap``) whose recall@k estimated
    on a sample reaches ``target_recall``."""
    if not 0.0 < target_recall <= 1.0:
        raise ValueError(f"target_recall must be in (0, 1], got {target_recall!r}")
    Z = as_centred(Z)
    n = Z.n
    labels, probe_order = ivf_lists(Z, zz, nlist, check=check, seed=seed)
    nlist = len(probe_order)
    order = np.argsort(labels, kind="stable").astype(np.int64)
    counts = np.bincount(labels, minlength=nlist)
    starts = np.zeros(nlist + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    if nprobe:
        info = IvfInfo(nlist=nlist, nprobe=max(1, min(nlist, nprobe)))
    else:
        info = choose_nprobe(Z, zz, k, labels, probe_order, target_recall, check=check, seed=seed)
    probes = probe_order[:, : info.nprobe]
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
        Zc = Z.take(cand)
        zc = zs[cand]
        kk = min(k, len(cand) - 1)
        if kk <= 0:
            return
        for q0 in range(a, b, qblock):
            check()
            q1 = min(b, q0 + qblock)
            rows = order[q0:q1]
            D2 = Z.take(rows) @ Zc.T
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
            cur = np.full((q1 - q0, kk), EMPTY, dtype=np.uint64)  # packed keys (knn_dense)
            merge_keys(cur, np.empty(q1 - q0, np.float32), r, pack(D2.ravel()[flat], c))
            cur.sort(axis=1)
            out_d[rows, :kk] = values(cur)
            got = (cur & NO_COLUMN).astype(np.int64)
            out_i[rows, :kk] = np.where(
                got != int(NO_COLUMN), cand[np.minimum(got, len(cand) - 1)], -1
            )

    work = np.argsort(-counts, kind="stable").tolist()  # the largest lists first
    _run(one, [(g,) for g in work], _workers())
    return out_d, out_i, info


def choose_nprobe(
    Z: Rows,
    zz: F64,
    k: int,
    labels: I64,
    probe_order: I64,
    target: float,
    *,
    check: Check = _noop,
    seed: int = 0,
) -> IvfInfo:
    """The fewest lists to search per list (from ``DEFAULT_NPROBE`` to ``probe_cap``) whose
    recall@k, estimated on up to ``PROBE_SAMPLE`` seeded rows, reaches ``target``.

    A row finds a true neighbour exactly when the neighbour's list is among the first
    ``nprobe`` of its own list's probe order (``probe_order``: lists by centre distance, own
    first, as ``knn_ivf`` searches them), so the rank of that list in that order, over the
    sample's exact k nearest, gives the estimated recall of every ``nprobe`` at once."""
    Z = as_centred(Z)
    n, dim = Z.n, Z.dim
    nlist = len(probe_order)
    low, cap = min(nlist, DEFAULT_NPROBE), probe_cap(nlist)
    # the sample's exact search costs q * n * D: at most ~1e11 multiply-adds, 64 rows or more
    q = int(min(n, max(64, min(PROBE_SAMPLE, 10**11 // max(1, n * dim)))))
    if k < 1 or n < 2:  # no neighbours to find
        return IvfInfo(nlist, low, estimated_recall=1.0, target_recall=target, sampled=0)
    rng = np.random.default_rng([seed, 1])  # rows other than measure_recall's
    sample = np.sort(rng.choice(n, size=q, replace=False)).astype(np.int64)
    nbr = exact_neighbours(Z, zz, sample, k, check)[1]
    hist = np.zeros(nlist, dtype=np.int64)
    step = np.broadcast_to(np.arange(nlist, dtype=np.int64), (64, nlist))
    for a in range(0, q, 64):
        check()
        b = min(q, a + 64)
        rank = np.empty((b - a, nlist), dtype=np.int64)  # rank[i, h]: h's place for row i
        np.put_along_axis(rank, probe_order[labels[sample[a:b]]], step[: b - a], axis=1)
        got = nbr[a:b]
        ranks = np.take_along_axis(rank, labels[np.maximum(got, 0)], axis=1)[got >= 0]
        hist += np.bincount(ranks, minlength=nlist)
    total = max(1, int(hist.sum()))
    recall = np.cumsum(hist) / total  # recall[p - 1]: the estimate with p lists searched
    reach = np.flatnonzero(recall >= target - 1e-12)
    need = int(reach[0]) + 1 if len(reach) else nlist + 1
    nprobe = min(cap, max(low, need))
    return IvfInfo(
        nlist,
        nprobe,
        estimated_recall=float(recall[nprobe - 1]),
        target_recall=target,
        sampled=q,
        capped=need > cap,
    )


def exact_neighbours(
    Z: Rows, zz: F64, queries: I64, k: int, check: Check = _noop
) -> tuple[np.ndarray, I64]:
    """Exact (float32) ``k`` smallest squared distances of the rows ``queries`` to all rows
    and their rows, ascending, self excluded: brute force in blocks of rows (the reference of
    ``measure_recall``, and the fallback for rows whose probed lists are too small)."""
    Z = as_centred(Z)
    n = Z.n
    Q = Z.take(queries)
    qq = zz[queries].astype(np.float32)
    zs = zz.astype(np.float32)
    best = np.full((len(queries), k), np.inf, dtype=np.float32)
    best_i = np.full((len(queries), k), -1, dtype=np.int64)
    block = max(1024, 2_000_000 // max(1, len(queries)))  # bounded temporaries
    for a in range(0, n, block):
        check()
        b = min(n, a + block)
        D2 = Q @ Z.block(a, b).T
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
    Z: Rows,
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
    Z = as_centred(Z)
    n = Z.n
    q = min(n, queries)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=q, replace=False)).astype(np.int64)
    exact = exact_neighbours(Z, zz, sample, k, check)[0]
    kth = exact[:, -1:].astype(np.float64)
    slack = 1e-5 * np.maximum(kth, float(zz.max()) * 1e-6)
    hits = (found[sample].astype(np.float64) <= kth + slack).sum(axis=1)
    return float(np.minimum(hits, k).mean() / k), q
