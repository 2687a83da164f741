"""The objective ``sum_s strength_s * log(Phi_s(S, c))`` and its exact argmax."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .kernels import F64, I64, Check, DiversityState, _noop
from .strategies import BalanceTerm, DiversityTerm, Term, WeightTerm

StateFactory = Callable[[np.ndarray, "I64 | None"], DiversityState]


def weight_values(term: WeightTerm, S: I64, idx: I64 | slice) -> F64:
    W = term.w[S].sum() if len(S) else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(term.strength * np.log(W + term.w[idx]), dtype=np.float64)


def balance_values(term: BalanceTerm, S: I64, idx: I64 | slice) -> F64:
    base = term.C[S].sum(axis=0) if len(S) else np.zeros(term.C.shape[1])
    P = base[None, :] + term.C[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        P = P / P.sum(axis=1, keepdims=True)
        ce = -(term.t[None, :] * np.log(P + 1e-10)).sum(axis=1)
        return np.asarray(term.strength * np.log(1.0 / ce), dtype=np.float64)


def balance_bounds(term: BalanceTerm, S: I64, CT: F64 | None = None) -> tuple[F64, F64]:
    """Lower and upper bounds of ``balance_values`` for every row, from two GEMVs.

    ``f_c = -sum_k t_k log((b_k + C_ck) / (B + s_c) + 1e-10)`` (the cross-entropy) is convex
    and decreasing in C_c. With s_min <= s_c <= s_max over the rows with s_c > 0:
    tangent at 0: ``f_c >= -sum t log A - sum_k t_k C_ck / ((B + s_min) A_k)``,
    ``A = b / (B + s_min) + 1e-10``; chord through the vertices: ``f_c <= sum_j C_cj / s_c *
    h_j`` with ``h_j = -sum_k t_k log(A'_k + s_min / (B + s_max) [k = j])``,
    ``A' = b / (B + s_max) + 1e-10``. Rows with s_c = 0 get their exact (shared) value.
    """
    base = term.C[S].sum(axis=0)
    B = float(base.sum())
    t = term.t
    s_min, s_max = term.row_sum_min, term.row_sum_max
    with np.errstate(divide="ignore", invalid="ignore"):
        A = base / (B + s_min) + 1e-10
        f0 = float(-(t * np.log(A)).sum())
        g = t / (A * (B + s_min))
        A2 = base / (B + s_max) + 1e-10
        logA2 = np.log(A2)
        h = np.empty(len(t))
        for j in range(len(t)):
            row = logA2.copy()
            row[j] = np.log(A2[j] + s_min / (B + s_max))
            h[j] = -(t * row).sum()
        if CT is None:
            f_lo = f0 - term.C @ g
            f_hi = (term.C @ h) * term.inv_row_sum
        else:
            both = np.stack([g, h]) @ CT
            f_lo = f0 - both[0]
            f_hi = both[1] * term.inv_row_sum
        # one scalar slack (>= the per-row 1e-9 relative one) keeps the pass count low
        slack: float | F64 = 1e-9 * (float(np.abs(f_lo).max()) + float(np.abs(f_hi).max()))
        if not math.isfinite(slack):
            slack = 1e-9 * (np.abs(f_lo) + np.abs(f_hi))
        slack += 1e-300
        f_lo -= slack
        f_hi += slack
        zero = term.zero_rows
        if len(zero):
            exact = balance_values(term, S, zero[:1])[0]
        v_a = term.strength * np.log(1.0 / np.maximum(f_lo, 0.0))
        v_b = term.strength * np.log(1.0 / f_hi)
    lo, hi = (v_b, v_a) if term.strength >= 0 else (v_a, v_b)
    lo = np.where(np.isnan(lo), -np.inf, lo)
    hi = np.where(np.isnan(hi), np.inf, hi)
    if len(zero):
        lo[zero] = exact
        hi[zero] = exact
    return lo, hi


def diversity_values(strength: float, A: float, delta: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(strength * np.log(A + delta), dtype=np.float64)


class Objective:
    def __init__(self, terms: list[Term], n: int, make_state: StateFactory) -> None:
        self.terms = terms
        self.n = n
        self.selected = np.zeros(n, dtype=bool)
        self.S: list[int] = []
        self.states: dict[int, DiversityState] = {}
        shared: dict[tuple[int, int], DiversityState] = {}
        for i, term in enumerate(terms):
            if isinstance(term, DiversityTerm):
                key = (id(term.X), id(term.rows))
                if key not in shared:
                    shared[key] = make_state(term.X, term.rows)
                self.states[i] = shared[key]
        self._unique_states = list(shared.values())
        # class matrices transposed once: (2, K) @ (K, U) streams them for both bounds
        self._CT = {
            j: np.ascontiguousarray(t.C.T)
            for j, t in enumerate(terms)
            if isinstance(t, BalanceTerm)
        }

    @property
    def touched(self) -> int:
        return sum(s.touched for s in self._unique_states)

    def add(self, c: int, check: Check = _noop) -> None:
        for st in self._unique_states:
            st.add(c, check)
        self.selected[c] = True
        self.S.append(c)

    def _first_unselected(self) -> int:
        free = np.flatnonzero(~self.selected)
        return int(free[0]) if len(free) else -1

    # ------------------------------------------------------------------ exact values
    def _exact(self, T: I64) -> tuple[F64, F64]:
        """Exact total and per-term values (|T| x terms) for universe positions ``T``."""
        S = np.asarray(self.S, dtype=np.int64)
        per = np.full((len(T), len(self.terms)), np.nan)
        tot = np.zeros(len(T))
        for j, term in enumerate(self.terms):
            if isinstance(term, WeightTerm):
                v = weight_values(term, S, T)
            elif isinstance(term, BalanceTerm):
                v = balance_values(term, S, T)
            else:
                if not len(S):
                    continue
                st = self.states[j]
                v = diversity_values(term.strength, st.A, st.exact_delta(T))
            per[:, j] = v
            tot += v
        tot[np.isnan(tot)] = -np.inf
        return tot, per

    def _pick(self, T: I64) -> tuple[int, F64]:
        tot, per = self._exact(T)
        i = int(np.argmax(tot))
        return int(T[i]), per[i]

    # ------------------------------------------------------------------ argmax
    def best(self, check: Check = _noop) -> tuple[int, F64]:
        """Best unselected universe position and its per-term contributions."""
        if len(self.S) >= self.n:
            return -1, np.zeros(len(self.terms))
        if not self.terms:
            return self._first_unselected(), np.zeros(0)
        div_terms = [j for j, t in enumerate(self.terms) if isinstance(t, DiversityTerm)]
        if not self.S and len(div_terms) == len(self.terms):
            # every term is constant before the first pick: all tie, lowest index wins
            c = self._first_unselected()
            return c, np.full(len(self.terms), np.nan)
        if len(self.terms) == 1 and div_terms and self.terms[0].strength > 0:
            T = self.states[0].near_max()
            return self._pick(T)
        return self._pick(self._candidates())

    def _candidates(self) -> I64:
        """Universe positions whose value can still be the maximum (bounds on diversity)."""
        with np.errstate(invalid="ignore"):
            return self._candidates_impl()

    def _candidates_impl(self) -> I64:
        S = np.asarray(self.S, dtype=np.int64)
        hi = np.zeros(self.n)
        lo = np.zeros(self.n)
        approx = False
        for j, term in enumerate(self.terms):
            if isinstance(term, WeightTerm):
                v = weight_values(term, S, slice(None))
            elif isinstance(term, BalanceTerm):
                if not len(S):
                    v = balance_values(term, S, slice(None))
                else:
                    b_lo, b_hi = balance_bounds(term, S, self._CT[j])
                    lo += b_lo
                    hi += b_hi
                    approx = True
                    continue
            else:
                if not len(S):
                    continue
                st = self.states[j]
                d = st.d
                A = st.A
                d_lo = np.maximum(d - st.err, 0.0)
                d_hi = d + st.err
                a = diversity_values(term.strength, A, d_lo)
                b = diversity_values(term.strength, A, d_hi)
                if term.strength >= 0:
                    lo += a
                    hi += b
                else:
                    lo += b
                    hi += a
                approx = True
                continue
            hi += v
            lo += v
        lo[np.isnan(lo)] = -np.inf
        hi[np.isnan(hi)] = np.inf
        lo[self.selected] = -np.inf
        hi[self.selected] = -np.inf
        if not approx:
            i = int(np.argmax(lo))
            if lo[i] == -np.inf:
                return np.asarray([self._first_unselected()], dtype=np.int64)
            return np.asarray([i], dtype=np.int64)
        best_lo = float(lo.max())
        if best_lo == -np.inf:
            return np.flatnonzero(~self.selected).astype(np.int64)
        return np.flatnonzero(hi >= best_lo).astype(np.int64)

    # ------------------------------------------------------------------ stopping
    def stop_for_min_distance(self, c: int) -> bool:
        if not self.S:
            return False
        for j, term in enumerate(self.terms):
            if isinstance(term, DiversityTerm) and term.min_distance is not None:
                delta = float(self.states[j].exact_delta(np.asarray([c], dtype=np.int64))[0])
                if math.sqrt(delta) < term.min_distance:
                    return True
        return False
