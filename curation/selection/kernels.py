"""Exact farthest-point (diversity) kernel with cluster pruning.

``DiversityState`` keeps, for every point of the universe, ``d[i]`` = min squared Euclidean
distance to the selected set. Updates use float32 BLAS on gathered cluster blocks; a cluster is
skipped when the triangle inequality proves that the new selected point cannot lower any of its
``d`` values: ``(||s - c_G|| - r_G)^2 > max_{i in G} d[i] + E``. ``E`` bounds the float32 rounding
error of one distance, so the maintained ``d`` never differs from the exact value by more than
``E``; the final decisions (argmax, stopping, the explanation) use float64 distances computed
directly from the vectors, so the result equals a float64 evaluation of the objective.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from .kernels_blas import all_blas_threads

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Check = Callable[[], None]

_U32 = 2.0**-24
# A pass over at least this many matrix elements gets every BLAS thread (see kernels_blas).
BIG_PASS = 4_000_000


def _noop() -> None:
    return None


def gather_rows(X: np.ndarray, rows: I64 | None, idx: I64 | slice, dtype: type) -> np.ndarray:
    """Rows ``rows[idx]`` of ``X`` as a contiguous array of ``dtype``."""
    src = idx if rows is None else rows[idx]
    if isinstance(src, slice):
        return np.ascontiguousarray(X[src], dtype=dtype)
    return np.ascontiguousarray(np.take(X, src, axis=0), dtype=dtype)


def row_sq_norms(X: np.ndarray, rows: I64 | None, block: int = 16384, check: Check = _noop) -> F64:
    n = X.shape[0] if rows is None else len(rows)
    out = np.empty(n, dtype=np.float64)
    for a in range(0, n, block):
        check()
        g = gather_rows(X, rows, slice(a, min(n, a + block)), np.float64)
        out[a : a + len(g)] = np.einsum("ij,ij->i", g, g)
    return out


def kmeans(
    X: np.ndarray,
    rows: I64 | None,
    k: int,
    *,
    iters: int = 4,
    sample: int = 20000,
    seed: int = 0,
    check: Check = _noop,
) -> tuple[F64, I64]:
    """Cheap Lloyd k-means on a sample; returns float64 centers and a label per point.

    Any centers work for the exactness of the pruning (radii are measured afterwards); good
    centers only make the pruning more effective.
    """
    n = X.shape[0] if rows is None else len(rows)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n, max(sample, k)), replace=False))
    S = gather_rows(X, rows, pick, np.float32)
    centers = S[rng.choice(len(S), size=k, replace=False)].astype(np.float32)
    ST = np.ascontiguousarray(S.T, dtype=np.float64)  # one contiguous column per dimension
    for _ in range(iters):
        check()
        lab = _assign(S, centers)
        counts = np.bincount(lab, minlength=k).astype(np.float64)
        sums = np.empty((k, S.shape[1]), dtype=np.float64)
        for j in range(S.shape[1]):
            sums[:, j] = np.bincount(lab, weights=ST[j], minlength=k)
        empty = counts == 0
        counts[empty] = 1.0
        new = (sums / counts[:, None]).astype(np.float32)
        new[empty] = centers[empty]
        centers = new
    labels = np.empty(n, dtype=np.int64)
    block = 8192
    for a in range(0, n, block):
        check()
        g = gather_rows(X, rows, slice(a, min(n, a + block)), np.float32)
        labels[a : a + len(g)] = _assign(g, centers)
    return centers.astype(np.float64), labels


def _assign(P: np.ndarray, centers: np.ndarray) -> I64:
    cc = np.einsum("ij,ij->i", centers, centers)
    scores = P @ centers.T
    scores *= -2.0
    scores += cc[None, :]
    return np.asarray(np.argmin(scores, axis=1), dtype=np.int64)


def pca_basis(
    X: np.ndarray, rows: I64 | None, m: int, sample: int = 8192, seed: int = 0
) -> tuple[F64, F64]:
    """Mean and an orthonormal (m', D) basis of the top principal directions (m' <= m)."""
    n = X.shape[0] if rows is None else len(rows)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    S = gather_rows(X, rows, pick, np.float64)
    mean = S.mean(axis=0)
    S -= mean
    if m >= X.shape[1]:
        return mean, np.eye(X.shape[1])
    # randomized subspace iteration (float32 GEMMs + a thin QR): any orthonormal basis keeps
    # the bounds exact, a good one makes them tight
    S32 = S.astype(np.float32)
    q = rng.standard_normal((X.shape[1], m))
    for _ in range(3):
        q, _ = np.linalg.qr((S32.T @ (S32 @ q.astype(np.float32))).astype(np.float64))
    # one more QR in float64 so that ||P v|| <= ||v|| holds to rounding
    q, _ = np.linalg.qr(q)
    return mean, np.ascontiguousarray(q.T)


def _projected_clusters(
    X: np.ndarray, rows: I64 | None, k: int, m: int, check: Check
) -> tuple[I64, F64, F64, F64, F64]:
    """k-means in a PCA projection of the points.

    Returns labels, projected centers, projected radii, mean and basis. Any partition keeps
    the pruning exact (radii are measured afterwards); good clusters make it effective.
    """
    n = X.shape[0] if rows is None else len(rows)
    mean, basis = pca_basis(X, rows, m)
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(n, size=min(n, max(20000, 20 * k)), replace=False))
    Ys = (gather_rows(X, rows, pick, np.float64) - mean) @ basis.T
    centers = kmeans(Ys, None, k, iters=6, sample=len(Ys), check=check)[0]
    labels = np.empty(n, dtype=np.int64)
    pdist = np.empty(n, dtype=np.float64)
    block = 16384
    c32 = centers.astype(np.float32)
    mean_proj = mean @ basis.T  # (x - mean) P = x P - mean P, one pass fewer per block
    for a in range(0, n, block):
        check()
        with all_blas_threads():  # a large GEMM: worth every thread
            Y = gather_rows(X, rows, slice(a, min(n, a + block)), np.float64) @ basis.T
        Y -= mean_proj
        lab = _assign(Y.astype(np.float32), c32)
        labels[a : a + len(Y)] = lab
        diff = Y - centers[lab]
        pdist[a : a + len(Y)] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    radius = np.zeros(len(centers))
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=len(centers))
    present = np.flatnonzero(counts)
    offs = np.concatenate([[0], np.cumsum(counts[present])[:-1]]).astype(np.int64)
    radius[present] = np.maximum.reduceat(pdist[order], offs)
    radius = radius * (1.0 + 1e-9) + 1e-12 * float(np.abs(centers).max(initial=0.0))
    return labels, centers, radius, mean, basis


class DiversityState:
    """Min squared distance of every universe point to the selected set, kept up to date.

    ``X`` is the caller's matrix (float32 or float64, possibly memory-mapped); ``rows`` maps
    universe positions to rows of ``X`` (None: all rows, in order). Positions are universe
    positions throughout the public API.
    """

    def __init__(
        self,
        X: np.ndarray,
        rows: I64 | None = None,
        *,
        n_clusters: int | None = None,
        proj_dim: int = 64,
        check: Check = _noop,
        copy_limit: int = 1 << 30,
    ) -> None:
        self.X = X
        self.rows = rows
        self.n = X.shape[0] if rows is None else len(rows)
        self.dim = X.shape[1]
        n = self.n
        self.xx = row_sq_norms(X, rows, check=check)
        max_sq = float(self.xx.max()) if n else 0.0
        # Bound on |fl32(||x||^2 + ||s||^2 - 2 x.s) - exact| (dot product error, inputs rounded
        # to float32), plus slack for the float64 parts.
        self.err = 4.0 * (self.dim + 4) * _U32 * max_sq * 1.01 + 1e-300
        if n_clusters is None:
            n_clusters = int(min(1024, max(1, round(math.sqrt(n)))))
        if n >= 4096 and n_clusters > 1:
            labels, self.centers, self.radius, self.mean, self.basis = _projected_clusters(
                X, rows, n_clusters, proj_dim, check
            )
        else:
            self.basis = np.eye(self.dim)
            self.mean = np.zeros(self.dim)
            self.centers = np.zeros((1, self.dim))
            self.radius = np.zeros(1)
            labels = np.zeros(n, dtype=np.int64)
        order = np.argsort(labels, kind="stable").astype(np.int64)
        counts = np.bincount(labels, minlength=len(self.centers))
        if (counts == 0).any():
            keep = counts > 0
            remap = np.cumsum(keep) - 1
            labels = remap[labels]
            self.centers = self.centers[keep]
            self.radius = self.radius[keep]
            counts = counts[keep]
        self.k = len(self.centers)
        self.starts = np.zeros(self.k + 1, dtype=np.int64)
        np.cumsum(counts, out=self.starts[1:])
        self.perm = order  # internal position -> universe position
        self.inv = np.empty(n, dtype=np.int64)  # universe position -> internal position
        self.inv[order] = np.arange(n, dtype=np.int64)
        self.cluster_of = np.repeat(np.arange(self.k, dtype=np.int64), counts)  # internal
        self.xrow = order if rows is None else rows[order]  # internal position -> row of X
        self.xx_int = self.xx[order]
        # float32 working copy in cluster order: updates read contiguous runs (BLAS GEMV). It
        # is O(N D) extra memory, so it is made only up to ``copy_limit`` bytes; above that
        # (or with copy_limit=0) the updates gather the rows of X in chunks instead.
        self.Xc: np.ndarray | None = None
        if n * self.dim * 4 <= copy_limit:
            self.Xc = np.empty((n, self.dim), dtype=np.float32)
            for a in range(0, n, 16384):
                check()
                self.Xc[a : a + 16384] = np.take(X, self.xrow[a : a + 16384], axis=0)
        self.d_u = np.full(n, np.inf, dtype=np.float64)  # universe order
        self.d_int = np.full(n, np.inf, dtype=np.float64)  # internal order
        self.cmax = np.full(self.k, np.inf, dtype=np.float64)
        self.selected: list[int] = []  # universe positions, in order
        self._sel_buf = np.empty((16, self.dim), dtype=np.float64)
        self._sel32 = np.empty((16, self.dim), dtype=np.float32)
        self._sel_sq = np.empty(16, dtype=np.float64)
        self._nn: list[float] = []  # nn distance of each selected point within the selection
        self.touched = 0  # number of distance evaluations, for benchmarks

    # ------------------------------------------------------------------ views
    @property
    def d(self) -> F64:
        """Approximate min squared distances, universe order (selected points: -inf)."""
        return self.d_u

    @property
    def A(self) -> float:
        """Sum over selected points of the squared distance to their nearest other selected."""
        if len(self._nn) <= 1:
            return 0.0
        return float(np.asarray(self._nn, dtype=np.float64).sum())

    def vector(self, pos: int) -> F64:
        row = int(pos) if self.rows is None else int(self.rows[pos])
        return np.asarray(self.X[row], dtype=np.float64)

    # ------------------------------------------------------------------ exact
    def exact_delta(self, positions: I64) -> F64:
        """Exact float64 min squared distance of universe ``positions`` to the selection.

        A float32 GEMM against the selection finds, per position, the selected points that can
        be the nearest (within the error bound); only those are evaluated in float64.
        """
        m = len(self.selected)
        out = np.full(len(positions), np.inf, dtype=np.float64)
        if m == 0 or not len(positions):
            return out
        S = self._sel_buf[:m]
        src = positions if self.rows is None else self.rows[positions]
        block = max(1, min(2048, 2_000_000 // m))
        for a in range(0, len(positions), block):
            P = np.take(self.X, src[a : a + block], axis=0).astype(np.float64)
            if m <= 8:
                best = np.full(len(P), np.inf)
                for j in range(m):
                    diff = P - S[j]
                    np.minimum(best, np.einsum("ij,ij->i", diff, diff), out=best)
                out[a : a + len(P)] = best
                continue
            approx = self._sel_sq[None, :m] - 2.0 * (P.astype(np.float32) @ self._sel32[:m].T)
            close = approx <= approx.min(axis=1, keepdims=True) + 2.0 * self.err
            single = close.sum(axis=1) == 1
            nearest = np.argmax(close, axis=1)
            diff = S[nearest[single]] - P[single]
            out[a + np.flatnonzero(single)] = (diff * diff).sum(axis=1)
            multi = np.flatnonzero(~single)
            if len(multi):  # every close pair in float64 at once, min per row
                rr, cc = np.nonzero(close[multi])
                dr = S[cc] - P[multi[rr]]
                d2 = np.einsum("ij,ij->i", dr, dr)
                firsts = np.flatnonzero(np.r_[True, rr[1:] != rr[:-1]])
                out[a + multi] = np.minimum.reduceat(d2, firsts)
        return out

    # ------------------------------------------------------------------ update
    def add(self, pos: int, check: Check = _noop) -> None:
        """Add universe position ``pos`` to the selection and update all ``d`` values."""
        s64 = self.vector(pos)
        m = len(self.selected)
        if m:
            nn = np.asarray(self._nn[:m]) if m > 8 else None
            if nn is not None:
                # only selected points whose nearest neighbour may change, plus the closest
                approx = self._sel_sq[:m] - 2.0 * (self._sel32[:m] @ s64.astype(np.float32))
                approx += float(s64 @ s64)
                cand = np.flatnonzero(
                    (approx <= nn + 2.0 * self.err) | (approx <= approx.min() + 2.0 * self.err)
                )
            else:
                cand = np.arange(m)
            diff = self._sel_buf[cand] - s64
            dist = (diff * diff).sum(axis=1)
            new_nn = float(dist.min())
            for j, dj in zip(cand.tolist(), dist.tolist(), strict=True):
                if dj < self._nn[j]:
                    self._nn[j] = dj
            self._nn.append(new_nn)
        else:
            self._nn.append(math.inf)
        if m == len(self._sel_buf):
            grow = len(self._sel_buf)
            self._sel_buf = np.concatenate([self._sel_buf, np.empty_like(self._sel_buf)])
            self._sel32 = np.concatenate([self._sel32, np.empty((grow, self.dim), np.float32)])
            self._sel_sq = np.concatenate([self._sel_sq, np.empty(grow)])
        self._sel_buf[m] = s64
        self._sel32[m] = s64
        self._sel_sq[m] = float(s64.astype(np.float32).astype(np.float64) @ s64.astype(np.float32))
        self.selected.append(int(pos))

        s32 = s64.astype(np.float32)
        ss = float(s64 @ s64)
        if self.k > 1:
            # ||x - s|| >= ||P x - P s|| >= ||P s - c_G|| - r_G  (P: orthonormal projection)
            dc = self.centers - (s64 - self.mean) @ self.basis.T
            cdist = np.sqrt(np.einsum("ij,ij->i", dc, dc))
            lb = np.maximum(cdist - self.radius, 0.0) * (1.0 - 1e-9)
            todo = np.flatnonzero(lb * lb <= self.cmax + self.err)
        else:
            todo = np.zeros(1, dtype=np.int64)
        own = int(self.inv[pos])
        if len(todo):
            self._update_clusters(todo, s32, ss, check)
        self.d_int[own] = -np.inf
        self.d_u[pos] = -np.inf
        g = int(self.cluster_of[own])
        a, b = int(self.starts[g]), int(self.starts[g + 1])
        self.cmax[g] = self.d_int[a:b].max()

    def _update_clusters(self, todo: I64, s32: np.ndarray, ss: float, check: Check) -> None:
        starts = self.starts
        lo = starts[todo]
        hi = starts[todo + 1]
        # merge adjacent clusters into contiguous runs of the cluster-ordered copy
        breaks = np.flatnonzero(lo[1:] != hi[:-1]) + 1
        run_first = np.concatenate([[0], breaks])
        run_last = np.concatenate([breaks, [len(todo)]])
        big = self.n >= 200_000
        for f, last in zip(run_first.tolist(), run_last.tolist(), strict=True):
            a, b = int(lo[f]), int(hi[last - 1])
            dist = self._dots(a, b, s32)
            dist *= -2.0
            dist += self.xx_int[a:b]
            dist += ss
            cur = self.d_int[a:b]
            np.minimum(cur, dist, out=cur)
            self.d_u[self.perm[a:b]] = cur
            self.cmax[todo[f:last]] = np.maximum.reduceat(cur, lo[f:last] - a)
            self.touched += b - a
            if big:
                check()

    def _dots(self, a: int, b: int, s32: np.ndarray) -> F64:
        """``x_i . s`` in float32 for internal positions a..b, as float64."""
        if self.Xc is not None:
            if (b - a) * self.dim >= BIG_PASS:
                with all_blas_threads():
                    return np.asarray(self.Xc[a:b] @ s32, dtype=np.float64)
            return np.asarray(self.Xc[a:b] @ s32, dtype=np.float64)
        out = np.empty(b - a, dtype=np.float64)
        for c in range(a, b, 4096):
            e = min(b, c + 4096)
            blk = np.take(self.X, self.xrow[c:e], axis=0)
            if blk.dtype != np.float32:
                blk = blk.astype(np.float32)
            out[c - a : e - a] = blk @ s32
        return out

    # ------------------------------------------------------------------ argmax
    def near_max(self) -> I64:
        """Sorted unselected universe positions whose exact ``delta`` may be the maximum."""
        best = float(self.cmax.max()) if self.k else -np.inf
        if best == -np.inf:
            return np.zeros(0, dtype=np.int64)
        cut = best - 2.0 * self.err
        groups = np.flatnonzero(self.cmax >= cut)
        cand_int = np.concatenate(
            [
                a + np.flatnonzero(self.d_int[a:b] >= cut)
                for a, b in zip(self.starts[groups], self.starts[groups + 1], strict=True)
            ]
        )
        return np.sort(self.perm[cand_int])
