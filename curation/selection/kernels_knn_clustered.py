"""Exact k-nearest neighbours for data with cluster structure (see ``kernels_knn``).

Per k-means cluster A (in a PCA projection, ``||x - y|| >= ||P x - P y||``): GEMMs against its
nearest clusters until every member has ``kk`` candidates, then against the other clusters in
increasing centre distance, each time only for the members whose triangle-inequality bound
``||P x - c_B|| - r_B`` does not exceed their current kk-th distance. ``kernels_knn`` chooses
this path when its probe measures that such bounds rule out most cluster pairs; otherwise the
symmetric blocked search is faster. Exact up to the float32 error ``err`` (taken into account).

A cluster's kept neighbours are packed keys as in ``knn_dense`` (one uint64 per neighbour: the
float32 distance's bits above the column) and candidates are found with one flat pass over
each product. A cluster's rows are gathered from the matrix once, centred and augmented
(``kernels_knn_rows``); its own product reuses them, swapped; other clusters' rows are gathered
per product: no copy of the matrix (4-7 % slower than reading a cluster-ordered copy, 20k x 384).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .kernels import F64, I64, Check
from .kernels_knn_keys import NO_COLUMN, merge_keys, pack, values
from .kernels_knn_rows import CentredRows
from .kernels_knn_symmetric import _workers, row_top, swapped_rows


@dataclass(frozen=True)
class ClusterBalls:
    """k-means clusters as balls in the projection: the positions in cluster order, each
    non-empty cluster's size, start and centre, and a radius that holds every member."""

    order: I64  # positions by cluster (stable)
    labels: I64  # each position's cluster among the non-empty ones
    counts: I64
    starts: I64  # len(counts) + 1
    centers: F64  # mean of the members' projections (float64)
    radius: F64  # largest member distance to the centre, times 1 + 1e-6
    Ys: np.ndarray  # the projections in cluster order, as given (float32: exact in float64)


def cluster_balls(Yf: np.ndarray, labels: I64) -> ClusterBalls:
    """The balls of the clusters ``labels`` of the projected points ``Yf`` (computed once for
    the probe ``cluster_share`` and the search ``knn_clustered``)."""
    k = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=k)
    keep = counts > 0
    remap = np.cumsum(keep) - 1
    labels = remap[labels].astype(np.int64)
    counts = counts[keep].astype(np.int64)
    order = np.argsort(labels, kind="stable").astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    Ys = Yf[order]
    centers = np.add.reduceat(Ys, starts[:-1], axis=0, dtype=np.float64) / counts[:, None]
    lab = np.repeat(np.arange(len(counts)), counts)
    pdist = np.empty(len(Ys))
    for a in range(0, len(Ys), 16384):  # float64 differences, one chunk at a time
        diff = Ys[a : a + 16384].astype(np.float64) - centers[lab[a : a + 16384]]
        pdist[a : a + 16384] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    radius = np.maximum.reduceat(pdist, starts[:-1]) * (1.0 + 1e-6)
    return ClusterBalls(order, labels, counts, starts, centers, radius, Ys)


def cluster_share(balls: ClusterBalls, Yf: np.ndarray, Z: CentredRows, kk: int) -> float:
    """Estimated share of point pairs that the clustered search's bounds rule out: for 32
    sampled points, ``||P x - c_B|| - r_B`` (projection) against the point's kk-th distance
    within its own cluster (an upper bound of its true kk-th distance)."""
    b = balls
    rng = np.random.default_rng(2)
    shares = []
    for i in rng.choice(Z.n, size=min(32, Z.n), replace=False).tolist():
        g = int(b.labels[i])
        members = b.order[b.starts[g] : b.starts[g + 1]]
        if len(members) <= kk:
            shares.append(0.0)
            continue
        dm = Z.take(members) - Z.take(np.array([i]))
        kth = float(np.sqrt(np.partition(np.einsum("ij,ij->i", dm, dm), kk)[kk]))
        dc = b.centers - Yf[i].astype(np.float64)
        lb = np.sqrt(np.einsum("ij,ij->i", dc, dc)) - b.radius
        shares.append(float(b.counts[lb > kth].sum()) / Z.n)
    return float(np.mean(shares))


def _cluster_rows(Z: CentredRows, zz: F64, balls: ClusterBalls, groups: I64) -> np.ndarray:
    """The members of the clusters ``groups`` (in cluster order) as the other side of the
    product, ``[z, 1, -|z|^2/2]``, read from the matrix (``kernels_knn_rows``)."""
    o, st = balls.order, balls.starts
    return Z.augmented(np.concatenate([o[st[h] : st[h + 1]] for h in groups.tolist()]), zz, True)


def knn_clustered(
    Z: CentredRows, zz: F64, kk: int, balls: ClusterBalls, err: float, check: Check
) -> tuple[F64, I64]:
    """k-means clusters with radii (in a PCA projection, ||x - y|| >= ||P x - P y||); per
    cluster A, GEMMs against its nearest clusters until every member has ``kk`` candidates,
    then against the other clusters in increasing center distance, each time only for the
    members whose triangle-inequality bound ``||P x - c_B|| - r_B`` does not exceed their
    current kk-th distance. Exact up to the float32 error ``err`` (taken into account).

    A cluster's members are read from the matrix (``Z``: centred rows, ``zz = |z|^2``) once,
    as the augmented rows ``[z, -|z|^2/2, 1]``; one GEMM against the members of other clusters
    as ``[z, 1, -|z|^2/2]`` gives ``-d^2/2`` with no pass to add the norms (as ``knn_dense``).
    Columns are positions in cluster order; results are in the original order."""
    n = Z.n
    order, counts, starts = balls.order, balls.counts, balls.starts
    centers, radius, Ys = balls.centers, balls.radius, balls.Ys
    nc = len(centers)
    cc = np.einsum("ij,ij->i", centers, centers)
    center_d = np.sqrt(np.maximum(cc[:, None] + cc[None, :] - 2.0 * (centers @ centers.T), 0.0))
    sq_err = math.sqrt(err)
    out_d = np.full((n, kk), np.inf, dtype=np.float64)
    out_i = np.full((n, kk), -1, dtype=np.int64)
    chunk_cols = 1024

    def one(g: int) -> None:
        check()
        a, b = int(starts[g]), int(starts[g + 1])
        m = b - a
        P = Z.augmented(order[a:b], zz, swap=False)
        Yg = Ys[a:b].astype(np.float64)
        yy = np.einsum("ij,ij->i", Yg, Yg)
        to_c = np.sqrt(np.maximum(yy[:, None] + cc[None, :] - 2.0 * (Yg @ centers.T), 0.0))
        lower = (to_c - radius[None, :]) * (1.0 - 1e-9) - sq_err
        near = np.argsort(center_d[g], kind="stable")
        near = np.concatenate([[g], near[near != g]])
        # own cluster first, then the nearest ones until every member has kk candidates
        take = int(np.searchsorted(np.cumsum(counts[near]), kk + 1)) + 1
        first = near[:take]
        cols = np.concatenate([np.arange(starts[h], starts[h + 1]) for h in first])
        # usually the own cluster alone: its rows are P's, swapped (no second gather)
        B = swapped_rows(P, slice(None)) if take == 1 else _cluster_rows(Z, zz, balls, first)
        cur = np.empty((m, kk), dtype=np.uint64)  # packed keys
        for r0 in range(0, m, 256):  # a large cluster's product, 256 rows at a time
            G = P[r0 : r0 + 256] @ B.T  # -d^2 / 2
            own = np.arange(len(G))
            G[own, own + r0] = -np.inf  # self, by position (cols start with the own cluster)
            top = row_top(G, kk, largest=True)  # the kk nearest
            cur[r0 : r0 + 256] = pack(-2.0 * np.take_along_axis(G, top, axis=1), cols[top])
        kth2 = values(cur.max(axis=1))  # each row's kk-th squared distance
        rest = near[take:]
        while len(rest):
            kth = np.sqrt(np.maximum(kth2.astype(np.float64) + err, 0.0))
            need = lower[:, rest] <= kth[:, None]
            used = need.any(axis=0)
            if not used.any():
                break
            rest = rest[used]
            need = need[:, used]
            csum = np.cumsum(counts[rest])
            nb = int(np.searchsorted(csum, chunk_cols)) + 1
            groups = rest[:nb]
            rows = np.flatnonzero(need[:, :nb].any(axis=1))
            rest = rest[nb:]
            cols = np.concatenate([np.arange(starts[h], starts[h + 1]) for h in groups])
            G = (P if len(rows) == m else P[rows]) @ _cluster_rows(Z, zz, balls, groups).T
            # only entries below a row's current kk-th can enter (it only shrinks): merge
            # those alone instead of partitioning every row of the block again
            hit = np.flatnonzero((-0.5 * kth2[rows])[:, None] < G)
            if len(hit):
                r, c = np.divmod(hit, G.shape[1])
                merge_keys(cur, kth2, rows[r], pack(-2.0 * G.ravel()[hit], cols[c]))
        cur.sort(axis=1)
        out_d[order[a:b]] = values(cur)
        out_i[order[a:b]] = order[(cur & NO_COLUMN).astype(np.int64)]

    # biggest clusters first, spread over a few threads (BLAS itself runs single-threaded)
    work = np.argsort(-counts, kind="stable").tolist()
    nw = _workers()
    if nw <= 1 or nc < 4:
        for g in work:
            one(g)
    else:
        with ThreadPoolExecutor(nw) as pool:
            for f in [pool.submit(one, g) for g in work]:
                f.result()
    return out_d, out_i
