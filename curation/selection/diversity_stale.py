"""Stale upper bounds for the lazy ``DiversityState`` (diversity alone) while it has no clusters.

Every point ``i`` keeps ``d[i]``, the float32-accurate minimum over the first ``seen[i]``
picks only. ``d`` only decreases as picks are added, so a stale ``d[i]`` still bounds the exact
value from above: a point whose bound is below the frontier's best value (by more than the
float32 error) cannot be the maximum, whatever the later picks did to it. A refresh therefore
brings only the points whose bound reaches the ``r``-th largest up-to-date value up to date (a
GEMM per group of equal ``seen`` against the picks they missed), and the frontier becomes the
``L`` largest up-to-date values; ``tau`` (the largest value outside the frontier) covers the
rest. A group's rows are gathered chunk by chunk, or, where the cost model of ``diversity``
(``READ`` per element read, one per multiply-add) finds reading every row in order cheaper (the
first picks' update of nearly every row), read as contiguous slices of the universe whose
results are taken at the rows' offsets (13k x 384, n = 1000, 12 alternations in one process:
isotropic 0.197 -> 0.184 s, low rank 0.163 -> 0.154 s, text 0.152 -> 0.150 s). Measured on
unclustered data (13k x 384, n = 1000) this applies 35-45 % of the
(point, pick) updates that a pass per batch of picks applies (85-98 %): most points fall
below the shrinking maximum early and are never touched again.

Invariant: for every unselected point, ``d[i] + err`` bounds its exact delta from above, and
``d[i]`` is exact (float32-accurate) for the frontier and whenever ``seen[i]`` equals the
number of picks. A switch to clusters (``catch_up_all``) brings every point up to date first.

Lazy states also keep ``d2[i]``, a lower bound of the float32 distance to each of the first
``seen[i]`` picks but ``arg[i]`` (the runner-up: a second pass over each group's product, the
old nearest when a group's pick is nearer). Where ``d2 > d + 2 err``, ``arg`` is provably the
exact nearest pick, and ``decide`` takes the exact delta from the distance to it (measured on
isotropic 13k x 384, n = 1000: 82 products against the whole selection instead of 744,
0.20 -> 0.17 s; TF-IDF text 0.16 -> 0.14 s; same picks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .diversity_passes import READ
from .kernels import F64, I64, Check
from .kernels_blas import blas_threads_for

# merge groups of different ``seen`` while the extra multiply-adds cost less than a call
_MERGE_MAC = 1_500_000


class StaleBounds:
    """Mixin: the stale-bound refresh of ``DiversityState`` (which sets every attribute)."""

    n: int
    dim: int
    d: F64
    arg: I64
    d2: F64
    second: bool
    xx: F64
    err: float
    L: int
    F: I64 | None
    XF: np.ndarray
    _frontier_rows: Callable[[I64], np.ndarray]  # LazyFrontier's (later in the MRO)
    dF: F64
    aF: I64
    d2F: F64
    cF: I64
    tau: float
    cluster_of: I64
    selected: list[int]
    seen: np.ndarray
    touched: int
    lazy: bool
    check: Check
    stats: dict[str, int]
    _sel32: np.ndarray
    _sel_ss: np.ndarray
    _served: int
    _spent: float

    def _rows32(self, idx: I64 | slice) -> np.ndarray:
        raise NotImplementedError

    def _block_nearest(
        self, blk: np.ndarray, P32: np.ndarray, pss: F64, xx: F64, want: bool
    ) -> tuple[F64, I64 | None]:
        raise NotImplementedError

    def _block_two_nearest(
        self, blk: np.ndarray, P32: np.ndarray, pss: F64, xx: F64
    ) -> tuple[F64, I64, F64]:
        raise NotImplementedError

    # ------------------------------------------------------------------ catching up
    def _update_rows(self, idx: I64) -> None:
        """Bring positions ``idx`` (unselected, ``seen < m``) up to date with every pick."""
        m = len(self.selected)
        if not len(idx):
            return
        seen = self.seen[idx]
        order = np.argsort(seen, kind="stable")
        idx, seen = idx[order], seen[order]
        values, starts = np.unique(seen, return_index=True)
        bounds = [*starts.tolist(), len(idx)]
        g0 = 0
        for g in range(len(values)):
            nxt = g + 1
            if nxt < len(values):  # merge the next group while its extra work is cheap
                extra = (bounds[nxt + 1] - bounds[nxt]) * int(values[nxt] - values[g0])
                if extra * self.dim <= _MERGE_MAC:
                    continue
            self._update_group(idx[bounds[g0] : bounds[nxt]], int(values[g0]), m)
            g0 = nxt

    def _update_group(self, rows: I64, s0: int, m: int) -> None:
        P32 = self._sel32[s0:m]
        pss = self._sel_ss[s0:m]
        p = m - s0
        chunk = max(256, min(len(rows), 4_000_000 // max(1, p), 4_000_000 // self.dim))
        d = self.d
        for r, blk, xx, off in self._row_blocks(rows, p, chunk):
            self.check()
            cur = d[r]
            if self.second:  # remember the pick that lowered each row and the runner-up
                with blas_threads_for(len(blk) * p * self.dim):
                    dist, near, other = self._block_two_nearest(blk, P32, pss, xx)
                if off is not None:
                    dist, near, other = dist[off], near[off], other[off]
                low = dist < cur
                self.arg[r[low]] = near[low] + s0
                # a new nearest: the old one is the runner-up, unless the block's is nearer
                self.d2[r] = np.where(low, np.minimum(cur, other), np.minimum(self.d2[r], dist))
            else:
                want = self.lazy  # lazy: remember the pick that lowered each row (``arg``)
                with blas_threads_for(len(blk) * p * self.dim):
                    dist, first = self._block_nearest(blk, P32, pss, xx, want)
                if off is not None:
                    dist, first = dist[off], None if first is None else first[off]
                if first is not None:
                    low = dist < cur
                    self.arg[r[low]] = first[low] + s0
            d[r] = np.minimum(cur, dist)
        self.seen[rows] = m
        self.touched += len(rows) * p
        self._spent += len(rows) * p * self.dim

    def _row_blocks(
        self, rows: I64, p: int, chunk: int
    ) -> Iterator[tuple[I64, np.ndarray, F64, I64 | None]]:
        """Chunks of ``rows`` with their float32 rows and squared norms, gathered; or, where
        reading every row in order costs less than gathering these (the first picks' update
        of nearly every row), contiguous slices of the universe with the offsets of ``rows``
        in each (``off``: the block's results are taken there)."""
        n = self.n
        if n * (READ + p) >= len(rows) * (2 * READ + p):
            for a in range(0, len(rows), chunk):
                r = rows[a : a + chunk]
                yield r, self._rows32(r), self.xx[r], None
            return
        member = np.zeros(n, dtype=bool)
        member[rows] = True
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            off = np.flatnonzero(member[a:b])
            if len(off):
                yield off + a, self._rows32(slice(a, b)), self.xx[a:b], off

    def catch_up_all(self) -> None:
        """Every unselected point up to date (before switching to clusters)."""
        m = len(self.selected)
        self._write_back()
        self._update_rows(np.flatnonzero((self.seen < m) & (self.d > -np.inf)).astype(np.int64))
        self.seen[:] = m

    def _write_back(self) -> None:
        if self.F is not None:
            self.d[self.F] = self.dF
            self.arg[self.F] = self.aF
            if self.second:
                self.d2[self.F] = self.d2F
            self.seen[self.F] = len(self.selected)
            self.F = None

    # ------------------------------------------------------------------ the frontier
    def _stale_refresh(self) -> None:
        """Write the frontier back, bring the points that can reach the ``r`` largest values
        up to date, and make the ``L`` largest up-to-date values the new frontier."""
        self._write_back()
        m = len(self.selected)
        d, n = self.d, self.n
        L = min(n, self.L)
        r = max(16, L // 8)
        while True:
            fresh = np.flatnonzero(self.seen == m)
            vals = d[fresh]
            live = int((vals > -np.inf).sum())
            t = -np.inf if live < r else float(np.partition(vals, len(vals) - r)[len(vals) - r])
            need = np.flatnonzero((self.seen < m) & (d > t) & (d > -np.inf)).astype(np.int64)
            if not len(need):
                break
            if t > -np.inf and len(need) > 4 * L:  # the highest bounds first
                need = need[np.argpartition(-d[need], 4 * L)[: 4 * L]]
            self._update_rows(need)
        fresh = np.flatnonzero(self.seen == m)
        if len(fresh) > L:
            part = np.argpartition(d[fresh], len(fresh) - L)
            F = np.sort(fresh[part[len(fresh) - L :]]).astype(np.int64)
        else:
            F = fresh.astype(np.int64)
        held = d[F].copy()
        d[F] = -np.inf
        self.tau = float(d.max()) if n else -np.inf
        d[F] = held
        self.F = F
        self.XF = self._frontier_rows(F)
        self.dF = held
        self.aF = self.arg[F]
        if self.second:
            self.d2F = self.d2[F]
        self.cF = self.cluster_of[F]
        self._served = 0
        self.stats["refreshes"] += 1
