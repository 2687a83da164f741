"""The objective ``sum_s strength_s * log(Phi_s(S, c))`` and its exact argmax.

Each step bounds every term from above for every position, evaluates the few positions with
the highest bounds exactly (their best value is a true lower bound of the maximum) and keeps
the positions whose bound reaches it; with stale diversity bounds (every diversity strength
positive) those candidates are brought up to date and bounded again until none is stale
(``_refine``), so only they ever cost a distance. The argmax over the survivors is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .diversity import DiversityState
from .kernels import F64, I64, Check, _noop
from .strategies import BalanceTerm, DiversityTerm, Term, WeightTerm
from .weight_order import WeightOrder, weight_values

# Positions with the highest upper bounds whose exact values set the cut-off each step.
PROBES = 8

# (X, rows, lazy, stale): lazy states only serve ``near_max`` (diversity alone, positive
# strength); stale states keep upper bounds of ``d`` only (every diversity strength >= 0)
StateFactory = Callable[[np.ndarray, "I64 | None", bool, bool], DiversityState]


def balance_values(term: BalanceTerm, S: I64, idx: I64 | slice) -> F64:
    base = term.C[S].sum(axis=0) if len(S) else np.zeros(term.C.shape[1])
    P = base[None, :] + term.C[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        P = P / P.sum(axis=1, keepdims=True)
        ce = -(term.t[None, :] * np.log(P + 1e-10)).sum(axis=1)
        return np.asarray(term.strength * np.log(1.0 / ce), dtype=np.float64)


def balance_upper(term: BalanceTerm, S: I64, CT: F64) -> F64:
    """An upper bound of ``balance_values`` for every row, from one GEMV.

    ``f_c = -sum_k t_k log((b_k + C_ck) / (B + s_c) + 1e-10)`` (the cross-entropy) is convex
    and decreasing in C_c. With s_min <= s_c <= s_max over the rows with s_c > 0:
    tangent at 0: ``f_c >= -sum t log A - sum_k t_k C_ck / ((B + s_min) A_k)``,
    ``A = b / (B + s_min) + 1e-10``; chord through the vertices: ``f_c <= sum_j C_cj / s_c *
    h_j`` with ``h_j = -sum_k t_k log(A'_k + s_min / (B + s_max) [k = j])``,
    ``A' = b / (B + s_max) + 1e-10``. The value ``strength * log(1 / f)`` is bounded above by
    the tangent for a positive strength and by the chord for a negative one. Rows with
    s_c = 0 get their exact (shared) value. ``CT`` is the class matrix transposed (K x U).
    """
    base = term.C[S].sum(axis=0)
    B = float(base.sum())
    t = term.t
    s_min, s_max = term.row_sum_min, term.row_sum_max
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if term.strength >= 0:
            A = base / (B + s_min) + 1e-10
            f0 = float(-(t * np.log(A)).sum())
            drop = (t / (A * (B + s_min))) @ CT
            f = f0 - drop
            # rounding of the two (possibly nearly cancelling) operands, then 1e-9 relative
            # drop >= 0 (t, A, C >= 0), so its largest magnitude is its maximum
            f_abs = max(abs(float(f.max())), abs(float(f.min())))
            slack = 1e-12 * (abs(f0) + float(drop.max())) + 1e-9 * f_abs
            f -= slack if math.isfinite(slack) else 1e-9 * (abs(f0) + np.abs(drop))
            f -= 1e-300
            np.maximum(f, 0.0, out=f)
            v = np.log(f)
            v *= -term.strength
        else:
            A2 = base / (B + s_max) + 1e-10
            logA2 = np.log(A2)
            h = np.empty(len(t))
            for j in range(len(t)):
                row = logA2.copy()
                row[j] = np.log(A2[j] + s_min / (B + s_max))
                h[j] = -(t * row).sum()
            f = (h @ CT) * term.inv_row_sum
            slack = 1e-9 * float(np.abs(f).max())
            f += slack if math.isfinite(slack) else 1e-9 * np.abs(f)
            f += 1e-300
            v = term.strength * np.log(1.0 / f)
        zero = term.zero_rows
        if len(zero):
            exact = balance_values(term, S, zero[:1])[0]
    hi = np.where(np.isnan(v), np.inf, v)
    if len(zero):
        hi[zero] = exact
    return hi


def diversity_values(strength: float, A: float | F64, delta: F64) -> F64:
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
        lazy = len(terms) == 1 and isinstance(terms[0], DiversityTerm) and terms[0].strength > 0
        # eager: stale upper bounds serve ``_candidates`` when no strength needs lower bounds
        stale = lazy or all(t.strength >= 0 for t in terms if isinstance(t, DiversityTerm))
        for i, term in enumerate(terms):
            if isinstance(term, DiversityTerm):
                key = (id(term.X), id(term.rows))
                if key not in shared:
                    shared[key] = make_state(term.X, term.rows, lazy, stale)
                self.states[i] = shared[key]
        self._unique_states = list(shared.values())
        self._div_terms = [j for j, t in enumerate(terms) if isinstance(t, DiversityTerm)]
        self._needs_S = any(not isinstance(t, DiversityTerm) for t in terms)
        self._by_weight = WeightOrder.make(terms, n)  # one weight term alone: no pass per pick
        self._probed: tuple[I64, F64, F64] | None = None
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
        S = np.asarray(self.S, dtype=np.int64) if self._needs_S else np.zeros(0, np.int64)
        per = np.full((len(T), len(self.terms)), np.nan)
        tot = np.zeros(len(T))
        for j, term in enumerate(self.terms):
            if isinstance(term, WeightTerm):
                v = weight_values(term, S, T)
            elif isinstance(term, BalanceTerm):
                v = balance_values(term, S, T)
            else:
                if not self.S:
                    continue
                st = self.states[j]
                v = diversity_values(term.strength, st.A, st.exact_delta(T))
            per[:, j] = v
            tot += v
        tot[np.isnan(tot)] = -np.inf
        return tot, per

    def _pick(self, T: I64) -> tuple[int, F64]:
        known = self._probed
        self._probed = None
        if known is None:
            tot, per = self._exact(T)
        else:  # reuse the exact values of this step's probes
            P, p_tot, p_per = known
            rest = T[~np.isin(T, P)]
            r_tot, r_per = self._exact(rest)
            T = np.concatenate([P, rest])
            tot = np.concatenate([p_tot, r_tot])
            per = np.concatenate([p_per, r_per])
            order = np.argsort(T, kind="stable")  # ties go to the lowest position
            T, tot, per = T[order], tot[order], per[order]
        i = int(np.argmax(tot))
        return int(T[i]), per[i]

    # ------------------------------------------------------------------ argmax
    def best(self, check: Check = _noop) -> tuple[int, F64 | None]:
        """Best unselected universe position and its per-term contributions (None: ask
        ``deferred`` for them once the selection is done)."""
        if len(self.S) >= self.n:
            return -1, np.zeros(len(self.terms))
        if not self.terms:
            return self._first_unselected(), np.zeros(0)
        if self._by_weight is not None:
            return self._by_weight.best(self.S, self.selected)
        div_terms = self._div_terms
        if not self.S and len(div_terms) == len(self.terms):
            # every term is constant before the first pick: all tie, lowest index wins
            c = self._first_unselected()
            return c, np.full(len(self.terms), np.nan)
        if len(self.terms) == 1 and div_terms and self.terms[0].strength > 0:
            st = self.states[0]
            T = st.near_max()
            if st.lazy:
                c = st.decide(T)
                if c >= 0:  # contributions come later, from deferred()
                    return c, None
            return self._pick(T)
        self._probed = None
        return self._pick(self._candidates())

    def _candidates(self) -> I64:
        """Universe positions whose value can still be the maximum (bounds on diversity)."""
        with np.errstate(invalid="ignore"):
            return self._candidates_impl()

    def _candidates_impl(self) -> I64:
        """Upper bounds for every position; the best exact value among the few positions with
        the highest bounds is a true lower bound of the maximum, so every position whose bound
        falls below it is out."""
        S = np.asarray(self.S, dtype=np.int64)
        hi = np.zeros(self.n)
        approx = False
        for j, term in enumerate(self.terms):
            if isinstance(term, WeightTerm):
                hi += weight_values(term, S, slice(None))
            elif isinstance(term, BalanceTerm):
                if not len(S):
                    hi += balance_values(term, S, slice(None))
                else:
                    hi += balance_upper(term, S, self._CT[j])
                    approx = True
            elif len(S):
                st = self.states[j]
                d = st.d + st.err if term.strength >= 0 else np.maximum(st.d - st.err, 0.0)
                hi += diversity_values(term.strength, st.A, d)
                approx = True
        if not approx:  # every term exact: nan counts as -inf
            hi[np.isnan(hi)] = -np.inf
            hi[self.selected] = -np.inf
            i = int(np.argmax(hi))
            if hi[i] == -np.inf:
                return np.asarray([self._first_unselected()], dtype=np.int64)
            return np.asarray([i], dtype=np.int64)
        hi[np.isnan(hi)] = np.inf
        hi[self.selected] = -np.inf
        k = min(PROBES, self.n)
        probes = np.argpartition(hi, self.n - k)[self.n - k :]
        probes = probes[hi[probes] > -np.inf].astype(np.int64)
        if len(probes):
            p_tot, p_per = self._exact(probes)
            best_lo = float(p_tot.max())
            if best_lo > -np.inf:
                self._probed = (probes, p_tot, p_per)
        else:
            best_lo = -np.inf
        if best_lo == -np.inf:
            return np.flatnonzero(~self.selected).astype(np.int64)
        return self._refine(np.flatnonzero(hi >= best_lo).astype(np.int64), S, best_lo)

    def _refine(self, cand: I64, S: I64, best_lo: float) -> I64:
        """Stale diversity states: bring the candidates' bounds up to date (one GEMM per group
        against the picks they missed) and drop those whose refreshed bound (exact weights and
        balance, the up-to-date ``d``) falls below ``best_lo``, until none is stale."""
        stale = [st for st in self._unique_states if st.stale]
        m = len(self.S)
        while stale and len(cand):
            old = False
            for st in stale:
                idx = cand[st.seen[cand] < m]
                if len(idx):
                    st._update_rows(idx)
                    old = True
            if not old:
                break
            hi = np.zeros(len(cand))
            with np.errstate(divide="ignore", invalid="ignore"):
                for j, term in enumerate(self.terms):
                    if isinstance(term, WeightTerm):
                        hi += weight_values(term, S, cand)
                    elif isinstance(term, BalanceTerm):
                        hi += balance_values(term, S, cand)
                    else:
                        st = self.states[j]
                        hi += diversity_values(term.strength, st.A, st.d[cand] + st.err)
            hi[np.isnan(hi)] = np.inf
            cand = cand[hi >= best_lo]
        return cand

    def deferred(self, steps: list[int]) -> F64:
        """Per-term contributions (rows) of the picks at selection indices ``steps`` whose
        ``best`` returned None (diversity alone): ``strength * log(A(S) + delta(c))``."""
        out = np.full((len(steps), len(self.terms)), np.nan)
        if steps:
            A, delta = self.states[0].history(np.asarray(steps, dtype=np.int64))
            out[:, 0] = diversity_values(self.terms[0].strength, A, delta)
        return out

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
