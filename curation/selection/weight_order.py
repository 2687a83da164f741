"""The argmax of an objective with one weight term alone (typicality alone, one metadata
weight alone) without a pass over every position per pick.

The term's value is ``strength * log(W(S) + w_c)`` (``W``: the selected points' weight sum).
For finite ``w >= 0`` and a nonzero strength it is monotone in ``w_c`` for any ``W``, so the
positions sorted once by ``w`` (descending for a positive strength, ascending otherwise; equal
weights by position) hold the maximum at the head of the unselected ones. The values are
computed with the generic argmax's expression (``weight_values``): a window from the
head is evaluated, widened until its last value is clearly below its best (so no later
position can reach the best even if ``log`` rounds one ulp out of order), and the lowest
position among the best values wins, as the generic argmax breaks ties. A run of equal
weights is skipped at once (equal values; its first free position is the lowest). Measured: 13k
points, n = 1000 (typicality alone): the greedy part took 51 ms, now 9 ms; 0/1 weights on 200k
points, n = 2000: 2.88 s generic, 0.95 s before the run skip, 0.03 s.
"""

from __future__ import annotations

import math

import numpy as np

from .kernels import F64, I64
from .strategies import Term, WeightTerm

# a value this far (relative) below the window's best is below it whatever the rounding
_CLEAR = 1e-12


def weight_values(term: WeightTerm, S: I64, idx: I64 | slice) -> F64:
    return _values(term, term.w[S].sum() if len(S) else 0.0, idx)


def _values(term: WeightTerm, W: float, idx: I64 | slice) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(term.strength * np.log(W + term.w[idx]), dtype=np.float64)


class WeightOrder:
    """The positions of a single weight term in value order (see the module)."""

    def __init__(self, term: WeightTerm) -> None:
        self.term = term
        key = -term.w if term.strength > 0 else term.w
        self.order = np.argsort(key, kind="stable").astype(np.int64)
        self.head = 0
        # where the run of equal weights at each place of the order ends: equal weights have
        # equal values, and the first free one of a run has the lowest position (stable sort),
        # so the rest of the run never needs evaluating (0/1 weights: runs of millions)
        ws = term.w[self.order]
        starts = np.flatnonzero(ws[1:] != ws[:-1]) + 1
        ends = np.append(starts, len(ws))
        self._run_end = ends[np.searchsorted(starts, np.arange(len(ws)), side="right")]
        # the selected points' weights in selection order: the same sum as ``w[S].sum()``
        # (same values, same order) without converting S to an array every pick
        self._wS = np.empty(len(self.order), dtype=np.float64)
        self._m = 0

    @staticmethod
    def make(terms: list[Term], n: int) -> WeightOrder | None:
        """An order when the objective is one weight term with finite, non-negative weights
        and a nonzero strength (otherwise None: the generic argmax applies)."""
        if len(terms) != 1 or not isinstance(terms[0], WeightTerm):
            return None
        term = terms[0]
        w = np.asarray(term.w)
        if term.strength == 0 or len(w) != n or not (np.isfinite(w).all() and (w >= 0).all()):
            return None
        return WeightOrder(term)

    def best(self, S: list[int], selected: np.ndarray) -> tuple[int, F64]:
        """The unselected position the generic argmax picks, and its value (as a 1-row)."""
        order, n = self.order, len(self.order)
        h = self.head
        while selected[order[h]]:  # the caller guarantees an unselected position
            h += 1
        self.head = h
        m = len(S)
        if m > self._m:
            self._wS[self._m : m] = self.term.w[S[self._m : m]]
            self._m = m
        W = self._wS[:m].sum() if m else 0.0
        e = int(self._run_end[h])  # the head's run ends here
        width = 8
        while True:
            tail = order[e : e + width]
            win = np.concatenate([order[h : h + 1], tail[~selected[tail]]])
            if W > 0:  # W + w > 0 (w >= 0): no warning to silence, and np.errstate costs
                vals = self.term.strength * np.log(W + self.term.w[win])  # more than the log
            else:
                vals = _values(self.term, W, win)
            top = float(vals.max())
            last = float(vals[-1])
            if e + width >= n:
                break
            if math.isfinite(top) and last < top - _CLEAR * abs(top):
                break
            if top == -math.inf:  # every later value is -inf as well
                break
            if top == math.inf and last < top:
                break
            width *= 4
        if top == -math.inf:  # all tie at -inf: the generic argmax takes the first free one
            c = int(np.flatnonzero(~selected)[0])
            return c, _values(self.term, W, np.asarray([c], dtype=np.int64))
        c = int(win[vals == top].min())
        return c, np.asarray([top], dtype=np.float64)
