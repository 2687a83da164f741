"""The lazy frontier of ``DiversityState`` (diversity alone): only the ``L`` points with the
largest ``d`` are updated at every pick; ``near_max`` answers from them while the frontier's
best value exceeds ``tau + 2 err`` (``tau``: the largest ``d`` outside it, which only
decreases), and otherwise applies the pending picks to everyone and rebuilds it, wider when it
served too few picks.

Invariant: the frontier's ``dF`` is exact (float32-accurate) for every pick so far, so a point
returned by ``near_max`` is never missing one that could be (or tie with) the maximum.
"""

from __future__ import annotations

import numpy as np

from .kernels import F64, I64, Check


class LazyFrontier:
    """Mixin: the frontier of ``DiversityState`` (which sets every attribute)."""

    n: int
    dim: int
    k: int
    d: F64
    arg: I64
    xx: F64
    err: float
    lazy: bool
    stale: bool
    L: int
    F: I64 | None
    XF: np.ndarray
    _pick_vec: np.ndarray
    _pick_head: np.ndarray
    dF: F64
    aF: I64
    d2F: F64
    second: bool
    cF: I64
    tau: float
    cluster_of: I64
    pending: list[int]
    selected: list[int]
    check: Check
    touched: int
    _served: int
    _spent: float
    _fb_rest: int
    _fb_next: int

    def _rows32(self, idx: I64 | slice) -> np.ndarray:
        raise NotImplementedError

    def _lower_bounds(self, S: F64) -> F64:
        raise NotImplementedError

    def _flush(self, check: Check) -> None:
        raise NotImplementedError

    def _refresh(self, check: Check) -> None:
        raise NotImplementedError

    def _maybe_cluster(self) -> None:
        raise NotImplementedError

    def _stale_refresh(self) -> None:
        raise NotImplementedError

    def _update_frontier(self, s64: F64, s32: np.ndarray, ss: float) -> None:
        """Lower the frontier's ``d`` with one pick; rows its cluster bound rules out are
        skipped when that leaves less than half of them."""
        rows = None
        m = len(self.selected)
        if self.k > 1 and m >= self._fb_next:
            need = self._lower_bounds(s64[None, :])[0][self.cF] <= self.dF + self.err
            if need.sum() * 2 < len(need):
                rows = np.flatnonzero(need)
                self._fb_rest = 1
            else:  # the bound rules out too little here: rest a while before trying again
                self._fb_rest = min(64, 2 * self._fb_rest)
                self._fb_next = m + self._fb_rest
        # the frontier's rows are ``[x, ||x||^2, 1]`` (float32): one GEMV against
        # ``[-2 s, 1, ||s||^2]`` gives the squared distances (D + 2 products, within ``err``)
        pv = self._pick_vec
        np.multiply(s32, -2.0, out=self._pick_head)
        pv[self.dim + 1] = ss
        if rows is None:
            dF = self.dF
            dist = self.XF @ pv
            if self.second:  # the runner-up: the old nearest if the pick is nearer
                np.minimum(self.d2F, np.maximum(dist, dF), out=self.d2F)
            np.copyto(self.aF, m - 1, where=dist < dF)
            np.minimum(dF, dist, out=dF)
            self.touched += len(dF)
            self._spent += len(dF) * self.dim
        elif len(rows):
            assert not self.second  # clusters end stale mode (``_maybe_cluster``)
            dist = np.take(self.XF, rows, axis=0) @ pv
            self.aF[rows[dist < self.dF[rows]]] = m - 1
            self.dF[rows] = np.minimum(self.dF[rows], dist)
            self.touched += len(rows)

    def _frontier_rows(self, F: I64) -> np.ndarray:
        """The frontier's rows ``[x, ||x||^2, 1]`` in float32 (see ``_update_frontier``)."""
        XF = np.empty((len(F), self.dim + 2), dtype=np.float32)
        XF[:, : self.dim] = self._rows32(F)
        XF[:, self.dim] = self.xx[F]
        XF[:, self.dim + 1] = 1.0
        return XF

    def _build_frontier(self) -> None:
        d = self.d
        n = self.n
        L = self.L
        if n <= L:
            F = np.arange(n, dtype=np.int64)
            self.tau = -np.inf
        else:
            part = np.argpartition(d, n - L - 1)
            F = np.sort(part[n - L :]).astype(np.int64)
            self.tau = float(d[part[n - L - 1]])
        self.F = F
        self.XF = self._frontier_rows(F)
        self.dF = d[F]
        self.aF = self.arg[F]
        self.cF = self.cluster_of[F]
        self._served = 0

    def near_max(self) -> I64:
        """Sorted unselected universe positions whose exact ``delta`` may be the maximum."""
        if not self.lazy:
            self._flush(self.check)
            d = self.d
            best = float(d.max()) if self.n else -np.inf
            if best == -np.inf:
                return np.zeros(0, dtype=np.int64)
            return np.flatnonzero(d >= best - 2.0 * self.err).astype(np.int64)
        while True:
            if self.F is None and self.stale:
                self._maybe_cluster()
            if self.F is None and self.stale:
                self._stale_refresh()
            elif self.F is None:
                if self.pending:
                    self._refresh(self.check)
                self._build_frontier()
            assert self.F is not None
            best = float(self.dF.max()) if len(self.dF) else -np.inf
            cut = best - 2.0 * self.err
            if best > -np.inf and self.tau < cut:
                return self.F[self.dF >= cut]
            if best == -np.inf and self.tau == -np.inf:
                return np.zeros(0, dtype=np.int64)
            # the frontier cannot decide: widen it when it served few picks, then rebuild
            if self._served < (1 if self.stale else 16) or not (self.pending or self.stale):
                self.L = min(self.n, 2 * self.L)
            self._refresh(self.check)
