"""The passes of ``DiversityState`` over the universe: ``d = min(d, ||x - p||^2)`` for a batch
of picks, over every row (``_apply_full``, one GEMM per block, every BLAS thread for large
blocks) or only over the clusters a pick can still lower (``_apply_pruned``).

Invariant: both leave ``d`` and ``cmax`` (each cluster's largest ``d``) exactly as a full
evaluation in float32 would; lazy states also record in ``arg`` which pick lowered each row.
``DiversityState._apply`` chooses between them with its cost model.
"""

from __future__ import annotations

import numpy as np

from .kernels import F64, I64, Check
from .kernels_blas import all_blas_threads

# A pass over at least this many matrix elements gets every BLAS thread (see kernels_blas).
BIG_PASS = 4_000_000
BLOCK = 8192
# cost model (arbitrary units ~ one float32 multiply-add): reading one matrix element
READ = 16.0


def _partial_distances(blk: np.ndarray, P32: np.ndarray, pss: F64) -> np.ndarray:
    """``||p||^2 - 2 x.p`` (float32) for every row x of ``blk`` and pick p of ``P32``: the
    squared distance less the row's own ``||x||^2``, which is added after the reduction."""
    G = blk @ P32.T
    G *= -2.0
    G += pss.astype(np.float32)
    return G


class BatchedPasses:
    """Mixin: the update passes of ``DiversityState`` (which sets every attribute)."""

    X: np.ndarray
    rows: I64 | None
    n: int
    dim: int
    k: int
    M: np.ndarray | None
    Mc: np.ndarray | None
    xx: F64
    d: F64
    arg: I64
    lazy: bool
    selected: list[int]
    perm: I64
    starts: I64
    cmax: F64
    touched: int
    stats: dict[str, int]

    def _rows32(self, idx: I64 | slice) -> np.ndarray:
        """float32 rows of universe positions ``idx`` (a view for slices of ``M``)."""
        if self.M is not None:
            return self.M[idx] if isinstance(idx, slice) else np.take(self.M, idx, axis=0)
        src = idx if self.rows is None else self.rows[idx]
        blk = self.X[src] if isinstance(src, slice) else np.take(self.X, src, axis=0)
        return blk if blk.dtype == np.float32 else blk.astype(np.float32)

    def _block_min(self, blk: np.ndarray, P32: np.ndarray, pss: F64, xx: F64) -> F64:
        return self._block_nearest(blk, P32, pss, xx, False)[0]

    def _block_nearest(
        self, blk: np.ndarray, P32: np.ndarray, pss: F64, xx: F64, want: bool
    ) -> tuple[F64, I64 | None]:
        """Min over the picks ``P32`` of each row's squared distance (and, with ``want``, the
        index in ``P32`` of the first pick that attains it)."""
        G = _partial_distances(blk, P32, pss)
        if G.shape[1] == 1:
            near = np.zeros(len(G), dtype=np.int64) if want else None
            return G[:, 0].astype(np.float64) + xx, near
        if not want:
            return G.min(axis=1).astype(np.float64) + xx, None
        a = G.argmin(axis=1)
        best = np.take_along_axis(G, a[:, None], axis=1)[:, 0]
        return best.astype(np.float64) + xx, a.astype(np.int64)

    def _block_two_nearest(
        self, blk: np.ndarray, P32: np.ndarray, pss: F64, xx: F64
    ) -> tuple[F64, I64, F64]:
        """``_block_nearest`` with ``want``, and each row's smallest squared distance to the
        other picks (+inf with one pick): a second pass over the block, for ``d2``."""
        G = _partial_distances(blk, P32, pss)
        a = G.argmin(axis=1)
        rows = np.arange(len(G))
        best = G[rows, a].astype(np.float64) + xx
        if G.shape[1] == 1:
            return best, a.astype(np.int64), np.full(len(G), np.inf)
        G[rows, a] = np.inf
        return best, a.astype(np.int64), G.min(axis=1).astype(np.float64) + xx

    def _apply_full(self, P32: np.ndarray, pss: F64, check: Check) -> None:
        n = self.n
        block = max(BLOCK, 4_000_000 // max(1, self.dim))
        big = block * self.dim >= BIG_PASS
        d = self.d
        first = len(self.selected) - len(P32)  # selection index of P32[0]
        for a in range(0, n, block):
            check()
            b = min(n, a + block)
            blk = self._rows32(slice(a, b))
            if big:
                with all_blas_threads():
                    dist, near = self._block_nearest(blk, P32, pss, self.xx[a:b], self.lazy)
            else:
                dist, near = self._block_nearest(blk, P32, pss, self.xx[a:b], self.lazy)
            if near is not None:  # lazy: remember the pick that lowered each row
                low = dist < d[a:b]
                self.arg[a:b][low] = near[low] + first
            np.minimum(d[a:b], dist, out=d[a:b])
        self.touched += n * len(P32)
        if self.k > 1:
            self.cmax = np.maximum.reduceat(d[self.perm], self.starts[:-1])
        else:
            self.cmax[0] = d.max() if n else -np.inf
        self.stats["full_passes"] += 1

    def _apply_pruned(
        self, P32: np.ndarray, pss: F64, need: np.ndarray, per: I64, check: Check
    ) -> None:
        d = self.d
        p = len(P32)
        todo = np.flatnonzero(per)
        if self.Mc is not None and p == 1:  # merge adjacent clusters into contiguous runs
            lo, hi = self.starts[todo], self.starts[todo + 1]
            breaks = np.flatnonzero(lo[1:] != hi[:-1]) + 1
            firsts = np.concatenate([[0], breaks]).tolist()
            lasts = np.concatenate([breaks, [len(todo)]]).tolist()
            for f, last in zip(firsts, lasts, strict=True):
                check()
                a, b = int(lo[f]), int(hi[last - 1])
                idx = self.perm[a:b]
                cur = np.minimum(d[idx], self._block_min(self.Mc[a:b], P32, pss, self.xx[idx]))
                d[idx] = cur
                self.cmax[todo[f:last]] = np.maximum.reduceat(cur, lo[f:last] - a)
                self.touched += b - a
            self.stats["pruned_passes"] += 1
            return
        first = len(self.selected) - p  # selection index of P32[0]
        for g in todo.tolist():
            check()
            a, b = int(self.starts[g]), int(self.starts[g + 1])
            idx = self.perm[a:b]
            sel = None
            if per[g] == p:
                Pg, sg = P32, pss
            else:
                sel = np.flatnonzero(need[:, g])
                Pg, sg = P32[sel], pss[sel]
            rows = self.Mc[a:b] if self.Mc is not None else self._rows32(idx)
            dist, near = self._block_nearest(rows, Pg, sg, self.xx[idx], self.lazy)
            if near is not None:  # lazy: remember the pick that lowered each row
                low = dist < d[idx]
                self.arg[idx[low]] = first + (near[low] if sel is None else sel[near[low]])
            cur = np.minimum(d[idx], dist)
            d[idx] = cur
            self.cmax[g] = cur.max()
            self.touched += len(idx) * len(Pg)
        self.stats["pruned_passes"] += 1
