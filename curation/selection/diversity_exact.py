"""The selected points of a ``DiversityState``: exact float64 distances to them, and the sum
``A(S)`` of each selected point's squared distance to its nearest other selected point.

A float32 product against the selection finds, for a point, the selected points that can be
its nearest (within the float32 error bound ``err``); only those are evaluated in float64, so
values equal a direct float64 evaluation. Once clusters exist, the projection's
non-expansive bound ``||P(x - s)|| <= ||x - s||`` rules most selected points out first (and
rests while it rules out too few).

Lazy states (diversity alone) keep none of this per pick: ``decide`` settles a pick from exact
deltas when no rounding of ``log(A + delta)`` can tie, and ``_nn_block`` brings the
nearest-neighbour state, ``A`` after every pick and each pick's delta (the explanation) up to
date in vectorised blocks when asked, with the same float64 values as the per-pick update.
"""

from __future__ import annotations

import math

import numpy as np

from .kernels import F64, I64, Check, pair_sq
from .kernels_blas import blas_threads_for


class SelectionSet:
    """Mixin: the selection buffers of ``DiversityState`` (which sets every attribute)."""

    X: np.ndarray
    rows: I64 | None
    err: float
    dim: int
    k: int
    mean: F64
    basis: F64
    selected: list[int]
    _sel_buf: np.ndarray  # float64 rows of the picks, or ``_sel32`` itself (not ``_own64``)
    _own64: bool
    _sel32: np.ndarray
    _sel_sq: np.ndarray
    _sel_ss: np.ndarray
    _nn: np.ndarray
    _sel_proj: np.ndarray
    _cache: tuple[int, I64, np.ndarray] | None
    _pf_slack: float
    _pf_rest: int
    _pf_next: int

    # lazy states defer the nearest-neighbour bookkeeping: ``_nn`` covers the first
    # ``_nn_done`` picks; ``_A_hist[k]`` is A after k picks, ``_delta_hist[k]`` pick k's delta
    _nn_done: int
    _hist_cells: int  # a block of ``_nn_block`` spans at most about this many pairs
    _A_hist: list[float]
    _delta_hist: list[float]
    _known: dict[int, float]
    _a_bound: float
    check: Check
    F: I64 | None
    aF: I64
    dF: F64
    d2F: F64
    second: bool

    @property
    def A(self) -> float:
        """Sum over selected points of the squared distance to their nearest other selected."""
        m = len(self.selected)
        if self._nn_done < m:
            self._catch_up()
        return 0.0 if m <= 1 else float(self._nn[:m].sum())

    def history(self, steps: I64) -> tuple[F64, F64]:
        """``A`` before, and the exact delta of, the picks at selection indices ``steps``."""
        if self._nn_done < len(self.selected):
            self._catch_up()
        A = np.asarray(self._A_hist, dtype=np.float64)[steps]
        return A, np.asarray(self._delta_hist, dtype=np.float64)[steps]

    def _catch_up(self) -> None:
        m = len(self.selected)
        while self._nn_done < m:
            self.check()
            k0 = self._nn_done
            k1 = min(m, k0 + max(16, min(256, self._hist_cells // max(1, m))))
            self._nn_block(k0, k1)
            self._nn_done = k1

    def _nn_block(self, k0: int, k1: int) -> None:
        """Apply picks ``k0..k1-1`` to ``_nn`` in one vectorised pass (float64-exact values).

        Column j holds j's nearest distance so far (row 0) then its distance to each new pick
        in order; a running minimum down the columns is the nn state after each pick. Only
        entries whose float32 estimate could lower that minimum (below the column's value
        before the block, within ``err``) are evaluated in float64; the others cannot change
        it, and columns without such an entry keep their value.
        """
        err = self.err
        B = k1 - k0
        S64 = self._sel_buf[:k1]  # float64 rows, or the float32 rows of a float32 matrix
        ss = self._sel_ss[k0:k1]
        with blas_threads_for(k1 * B * self.dim):
            G = self._sel32[:k1] @ self._sel32[k0:k1].T  # (k1, B)
        approx = G.T.astype(np.float64)  # (B, k1): new pick r against every pick
        approx *= -2.0
        approx += self._sel_sq[None, :k1]
        approx += ss[:, None]
        cols = np.arange(k0, k1)
        approx[np.arange(B), cols] = np.inf
        R0 = np.full(k1, np.inf)
        R0[:k0] = self._nn[:k0]
        if k0:  # the new picks' nearest among the earlier picks
            old = approx[:, :k0]
            close = old <= old.min(axis=1, keepdims=True) + 2.0 * err
            rr, cc = np.nonzero(close)
            np.minimum.at(R0, k0 + rr, pair_sq(S64, k0 + rr, cc))
        # only entries below a column's value before the block (plus the error) can lower its
        # running minimum, which never grows: only those are evaluated exactly
        if k0:
            mask = approx <= (R0 + err)[None, :]
        else:  # no value before the first block: its running float32 bounds instead
            upper = np.minimum.accumulate(np.vstack([R0[None, :], approx + err]), axis=0)
            mask = approx - err <= upper[:-1]
        mask[np.arange(B), cols] = False
        rr, cc = np.nonzero(mask)
        C = np.full((B + 1, k1), np.inf)  # row r: every pick's nearest after the block's first r
        C[0] = R0
        C[1 + rr, cc] = pair_sq(S64, k0 + rr, cc)
        for r in range(1, B + 1):  # the running minimum row by row (3x np.minimum.accumulate)
            np.minimum(C[r - 1], C[r], out=C[r])
        for r in range(B):
            k = k0 + r
            self._delta_hist.append(float(C[r, k]))
            self._A_hist.append(0.0 if k + 1 <= 1 else float(C[r + 1, : k + 1].sum()))
        self._nn[:k1] = C[B]

    def vector(self, pos: int) -> F64:
        row = int(pos) if self.rows is None else int(self.rows[pos])
        return np.asarray(self.X[row], dtype=np.float64)

    # ------------------------------------------------------------------ exact
    def exact_delta(self, positions: I64) -> F64:
        """Exact float64 min squared distance of universe ``positions`` to the selection.

        A float32 product against the selection finds, per position, the selected points that
        can be the nearest (within the error bound); only those are evaluated in float64.
        """
        m = len(self.selected)
        out = np.full(len(positions), np.inf, dtype=np.float64)
        if m == 0 or not len(positions):
            return out
        S = self._sel_buf[:m]
        if len(positions) == 1 and m > 8 and not self._proj_ok(m):  # the usual case, lean
            x = self.vector(int(positions[0]))
            approx = self._sel32[:m] @ x.astype(np.float32)
            approx *= -2.0
            approx += self._sel_sq[:m]
            self._cache = (m, positions, approx[None, :])
            close = np.flatnonzero(approx <= float(approx.min()) + 2.0 * self.err)
            diff = S[close] - x
            out[0] = float(np.einsum("ij,ij->i", diff, diff).min())
            return out
        if len(positions) <= 4 and self._proj_ok(m):
            vecs = [self.vector(int(p)) for p in positions]
            cands = [self._proj_filter(x, None) for x in vecs]
            if all(c is not None for c in cands):
                for i, (x, c) in enumerate(zip(vecs, cands, strict=True)):
                    diff = S[c] - x
                    out[i] = float(np.einsum("ij,ij->i", diff, diff).min())
                return out
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
            if a == 0 and len(positions) <= block:  # add() reuses the winner's row
                self._cache = (m, positions, approx)
            close = approx <= approx.min(axis=1, keepdims=True) + 2.0 * self.err
            single = close.sum(axis=1) == 1
            nearest = np.argmax(close, axis=1)
            diff = S[nearest[single]] - P[single]
            out[a + np.flatnonzero(single)] = np.einsum("ij,ij->i", diff, diff)
            multi = np.flatnonzero(~single)
            if len(multi):  # every close pair in float64 at once, min per row
                rr, cc = np.nonzero(close[multi])
                dr = S[cc] - P[multi[rr]]
                d2 = np.einsum("ij,ij->i", dr, dr)
                firsts = np.flatnonzero(np.r_[True, rr[1:] != rr[:-1]])
                out[a + multi] = np.minimum.reduceat(d2, firsts)
        return out

    def _proj_ok(self, m: int) -> bool:
        return self.k > 1 and m > 32 and len(self.selected) >= self._pf_next

    def _proj_filter(self, x: F64, limit: F64 | None) -> I64 | None:
        """Selected indices that can be the nearest to ``x`` (``||P(x - s)|| <= ||x - s||``
        bounds the others out), plus those with ``limit`` above the bound; None when the
        projection rules out too few to pay (then it rests a while)."""
        m = len(self.selected)
        diff = self._sel_proj[:m] - (x - self.mean) @ self.basis.T
        lb = np.einsum("ij,ij->i", diff, diff) * (1.0 - 1e-9) - self._pf_slack
        j0 = int(np.argmin(lb))
        dv = self._sel_buf[j0] - x
        upper = float(dv @ dv)
        cand = np.flatnonzero(lb <= (upper if limit is None else np.maximum(limit, upper)))
        if len(cand) * 4 > m:
            self._pf_rest = min(256, 2 * self._pf_rest)
            self._pf_next = len(self.selected) + self._pf_rest
            return None
        self._pf_rest = 1
        return cand

    # ------------------------------------------------------------------ lazy picks
    def decide(self, T: I64) -> int:
        """The pick among ``near_max``'s candidates ``T`` when it is certain without ``A``:
        the only candidate, or one whose exact delta beats every other by more than any
        rounding of ``log(A + delta)`` can hide (then it wins the objective's argmax as well),
        or the lowest position among exactly equal best deltas (duplicates: equal values, as
        the argmax breaks ties). -1 when the full evaluation must decide (near-ties,
        non-finite or zero values)."""
        if len(T) == 1:
            return int(T[0])
        m = len(self.selected)
        if not len(T) or not m or self.F is None:
            return -1
        # upper bounds: the exact distance to the pick each candidate was last lowered by;
        # only candidates whose bound reaches the best exact value so far are evaluated
        slots = self.F.searchsorted(T)
        near = self.aF[slots]  # selection indices (< m), or -1: no bound
        every = bool(near.min() >= 0)  # the usual case: every candidate has a bound
        if every:
            ub = self._distances_to(T, near)
        else:
            known = np.flatnonzero(near >= 0)
            ub = np.full(len(T), np.inf)
            if len(known):
                ub[known] = self._distances_to(T[known], near[known])
        if np.isnan(ub).any():
            return -1
        if every:  # the best bound alone often settles it
            c = self._settle_best_bound(T, ub, m, slots)
            if c >= 0:
                return c
        top, i, margin = -np.inf, -1, 0.0
        values: list[tuple[float, int]] = []
        order = np.argsort(-ub, kind="stable")
        # the first batch: every candidate without a bound, and the best bounded one
        head = int(np.searchsorted(-ub[order], -np.inf, side="right")) + 1
        for group in [order[:head], *order[head:, None]]:
            if ub[group[0]] < top - margin:
                break
            vals = self.exact_delta(T[group])
            for j, v in zip(group.tolist(), vals.tolist(), strict=True):
                if not (math.isfinite(v) and v > 0.0):
                    return -1
                values.append((v, j))
                if v > top:
                    top, i = v, j
                    margin = self._margin(top)
        close = [(v, j) for v, j in values if v >= top - margin]
        if len(close) > 1:
            if any(v != top for v, _ in close):
                return -1
            # equal deltas (duplicates): equal log(A + delta) too, the lowest position wins
            i = min(j for _, j in close)
        self._known[m] = top
        return int(T[i])

    def _distances_to(self, positions: I64, picks: I64) -> F64:
        """Exact float64 squared distances of universe ``positions`` to the selection
        indices ``picks`` (pairwise)."""
        src = positions if self.rows is None else self.rows[positions]
        diff = np.take(self.X, src, axis=0).astype(np.float64)
        diff -= self._sel_buf[picks]
        return np.asarray(np.einsum("ij,ij->i", diff, diff))

    def _margin(self, top: float) -> float:
        """How far apart two exact deltas must be for ``log(A + delta)`` not to tie."""
        bound = self._a_bound + top
        scale = 1.0 + max(abs(math.log(top)), abs(math.log(bound)))
        return 64.0 * 2.0**-52 * bound * scale

    def _settle_best_bound(self, T: I64, ub: F64, m: int, slots: I64) -> int:
        """``decide``'s first step when every candidate has a bound: the exact delta of the
        one with the largest bound; if every other bound is below it by more than the
        margin, it is the pick, else -1 (the full ``decide`` goes on).

        That delta is the bound itself when the runner-up bound ``d2F`` proves the bound's
        pick the nearest: every other pick's float32 distance exceeds the nearest's by more
        than ``2 err``, so its exact distance does too."""
        i0 = int(ub.argmax())
        j = int(slots[i0])
        if self.second and self.d2F[j] > self.dF[j] + 2.0 * self.err:
            top = float(ub[i0])
        else:
            top = float(self.exact_delta(T[i0 : i0 + 1])[0])
        if not (math.isfinite(top) and top > 0.0):
            return -1
        held, ub[i0] = ub[i0], -np.inf
        rest = float(ub.max())
        ub[i0] = held
        if rest >= top - self._margin(top):
            return -1
        self._known[m] = top
        return int(T[i0])

    # ------------------------------------------------------------------ selection
    def _grow(self) -> None:
        m = len(self._sel32)
        self._sel32 = np.concatenate([self._sel32, np.empty((m, self.dim), np.float32)])
        if self._own64:
            self._sel_buf = np.concatenate([self._sel_buf, np.empty_like(self._sel_buf)])
        else:  # the same buffer (see ``DiversityState``)
            self._sel_buf = self._sel32
        self._sel_sq = np.concatenate([self._sel_sq, np.empty(m)])
        self._sel_ss = np.concatenate([self._sel_ss, np.empty(m)])
        self._nn = np.concatenate([self._nn, np.empty(m)])
        self._sel_proj = np.concatenate([self._sel_proj, np.empty_like(self._sel_proj)])

    def _update_nn(self, pos: int, s64: F64, s32: np.ndarray, ss: float) -> None:
        """Nearest-neighbour distances within the selection, with ``pos`` added (float64)."""
        m = len(self.selected)
        if not m:
            self._nn[0] = math.inf
            return
        cand = None
        if self._proj_ok(m):
            cand = self._proj_filter(s64, self._nn[:m])
        if cand is not None:
            pass
        elif m > 8:
            cache = self._cache
            approx = None
            if cache is not None and cache[0] == m:
                hit = np.flatnonzero(cache[1] == pos)
                if len(hit):
                    approx = cache[2][int(hit[0])] + float(s64 @ s64)
            if approx is None:
                approx = self._sel_sq[:m] - 2.0 * (self._sel32[:m] @ s32) + ss
            nn = self._nn[:m]
            cand = np.flatnonzero(
                (approx <= nn + 2.0 * self.err) | (approx <= approx.min() + 2.0 * self.err)
            )
        else:
            cand = np.arange(m)
        diff = self._sel_buf[cand] - s64
        dist = np.einsum("ij,ij->i", diff, diff)
        self._nn[m] = float(dist.min())
        self._nn[cand] = np.minimum(self._nn[cand], dist)
