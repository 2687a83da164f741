"""Slow, obviously-correct float64 reference for the selection semantics.

Every step evaluates ``sum_s strength_s * log(Phi_s(S, c))`` literally for every unselected
candidate, straight from shared/selection-semantics.md. No pruning, no caching, no float32.
Only config parsing is shared with the engine.
"""

from __future__ import annotations

import math

import numpy as np

from curation.selection import ArrayData, parse_config
from curation.selection.diversity import DiversityState


def sqdist_rows(P: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of every row of P to x."""
    diff = P - x
    return (diff * diff).sum(axis=1)


def farthest_point_greedy(X: np.ndarray, steps: int) -> list[int]:
    """Diversity alone in float64: row 0, then ``steps`` times the row farthest from the picks
    (ties: the lowest index)."""
    X64 = X.astype(np.float64)
    d = np.full(len(X64), np.inf)
    sel = [0]
    for _ in range(steps):
        np.minimum(d, sqdist_rows(X64, X64[sel[-1]]), out=d)
        d[sel] = -np.inf
        sel.append(int(np.argmax(d)))
    return sel


def _values(spec, data: ArrayData) -> np.ndarray:
    if spec.input.type == "SCORES":
        return np.asarray(data.scores[(spec.input.task, spec.input.score)], dtype=np.float64)
    arr = np.asarray(data.metadata[spec.input.key])
    if arr.dtype == object:
        return np.array([np.nan if v is None else float(v) for v in arr])
    return arr.astype(np.float64)


def _embedding(spec, data: ArrayData) -> np.ndarray:
    name = spec.input.embedding or next(iter(data.embeddings))
    return np.asarray(data.embeddings[name], dtype=np.float64)


def _typicality(X: np.ndarray, k: int) -> np.ndarray:
    n = len(X)
    k = min(k, n - 1)
    dists = np.empty((n, k))
    for i in range(n):
        d2 = sqdist_rows(X, X[i])
        d2[i] = np.inf
        dists[i] = np.sqrt(np.sort(d2)[:k])
    sigma = dists.mean()
    if sigma == 0:
        return np.ones(n)
    return np.exp(-dists / sigma).mean(axis=1)


def _similarity(X: np.ndarray, Q: np.ndarray) -> np.ndarray:
    d = np.array([math.sqrt(sqdist_rows(Q, x).min()) for x in X])
    mean = d.mean() if len(d) else 0.0
    return np.ones(len(X)) if mean == 0 else np.exp(-d / mean)


def _balance(spec, data: ArrayData, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if spec.input.type == "PREDICTIONS":
        mat, names = data.predictions[(spec.input.task, spec.input.name)]
        C = np.asarray(mat, dtype=np.float64)[U]
        names = list(names)
    else:
        vals = np.asarray(data.metadata[spec.input.key], dtype=object)
        names = sorted({v for v in vals if isinstance(v, str)})
        C = np.array([[1.0 if vals[i] == c else 0.0 for c in names] for i in U]).reshape(
            len(U), len(names)
        )
    if spec.distribution == "TARGET":
        listed = [names.index(c) for c, _ in spec.target]
        t = [share for _, share in spec.target]
        rest = [j for j in range(len(names)) if j not in listed]
        cols = [C[:, j] for j in listed]
        remainder = max(0.0, 1.0 - sum(t))
        if rest or remainder > 0:
            cols.append(C[:, rest].sum(axis=1) if rest else np.zeros(len(C)))
            t.append(remainder)
        C = np.stack(cols, axis=1)
        t = np.asarray(t, dtype=np.float64)
    else:
        totals = C.sum(axis=0)
        C = C[:, totals > 0]
        t = np.ones(C.shape[1]) if spec.distribution == "UNIFORM" else totals[totals > 0]
    return np.ascontiguousarray(C), t / t.sum()


def reference_select(config: dict, data: ArrayData) -> tuple[list[int], str]:
    """Return (sample indices in pick order, stopped_by)."""
    cfg = parse_config(config)
    n = data.n_samples()
    masked = np.zeros(n, bool) if data.masked is None else np.asarray(data.masked)
    pre = np.zeros(n, bool) if data.preselected is None else np.asarray(data.preselected)
    pre = pre & ~masked
    passing = ~masked
    for spec in cfg.thresholds:
        v = _values(spec, data)
        op = {
            "SMALLER": np.less,
            "SMALLER_EQUAL": np.less_equal,
            "BIGGER": np.greater,
            "BIGGER_EQUAL": np.greater_equal,
        }[spec.operation]
        with np.errstate(invalid="ignore"):
            passing = passing & op(v, spec.threshold) & ~np.isnan(v)
    U = np.flatnonzero(passing | pre)
    n_req = cfg.n_for(int(passing.sum()))

    terms = []  # (kind, strength, payload)
    for spec in cfg.scoring:
        if spec.type == "DIVERSITY":
            X = _embedding(spec, data)[U]
            terms.append(("div", spec.strength, (X, spec.stopping_condition_minimum_distance)))
        elif spec.type == "TYPICALITY":
            w = _typicality(_embedding(spec, data)[U], spec.num_nearest_neighbors)
            terms.append(("w", spec.strength, w))
        elif spec.type == "SIMILARITY":
            Q = np.asarray(data.queries[spec.input.query_key], dtype=np.float64)
            terms.append(("w", spec.strength, _similarity(_embedding(spec, data)[U], Q)))
        elif spec.type == "WEIGHTS":
            if spec.input.type == "RANDOM":
                w = np.random.default_rng(spec.input.random_seed).random(len(U))
            else:
                w = _values(spec, data)[U]
            terms.append(("w", spec.strength, w))
        elif spec.type == "BALANCE":
            terms.append(("bal", spec.strength, _balance(spec, data, U)))

    S = [int(i) for i in np.flatnonzero(pre[U])]
    target = max(len(S), min(n_req, len(U)))
    stopped = "n_reached" if n_req <= len(U) or len(S) >= n_req else "candidates_exhausted"
    while len(S) < target:
        best, best_c = -math.inf, -1
        Sa = np.asarray(S, dtype=np.int64)
        for c in range(len(U)):
            if c in S:
                continue
            total = 0.0
            for kind, strength, payload in terms:
                with np.errstate(divide="ignore", invalid="ignore"):
                    if kind == "w":
                        W = payload[Sa].sum() if S else 0.0
                        total += strength * np.log(W + payload[c])
                    elif kind == "div":
                        if not S:
                            continue  # constant before the first pick
                        X = payload[0]
                        delta = sqdist_rows(X[Sa], X[c]).min()
                        nn = []
                        for s in S:
                            others = [o for o in S if o != s]
                            nn.append(sqdist_rows(X[others], X[s]).min() if others else np.inf)
                        A = float(np.asarray(nn).sum()) if len(S) > 1 else 0.0
                        total += strength * np.log(A + delta)
                    else:
                        C, t = payload
                        base = C[Sa].sum(axis=0) if S else np.zeros(C.shape[1])
                        P = base[None, :] + C[c : c + 1]
                        P = P / P.sum(axis=1, keepdims=True)
                        ce = -(t[None, :] * np.log(P + 1e-10)).sum(axis=1)
                        total += float(strength * np.log(1.0 / ce[0]))
            if math.isnan(total):
                total = -math.inf
            if best_c < 0 or total > best:
                best, best_c = total, c
        stop = False
        for kind, _, payload in terms:
            if kind == "div" and payload[1] is not None and S:
                X = payload[0]
                delta = sqdist_rows(X[np.asarray(S)], X[best_c]).min()
                if math.sqrt(delta) < payload[1]:
                    stop = True
        if stop:
            stopped = "minimum_distance"
            break
        S.append(best_c)
    return [int(U[i]) for i in S], stopped


def check_runner_up(st: DiversityState, X: np.ndarray) -> int:
    """Every up-to-date unselected point: ``arg`` within the error of the exact nearest and
    ``d2`` at most every other pick's exact distance plus the error. Returns how many points
    the runner-up proves (``d2 > d + 2 err``)."""
    m = len(st.selected)
    picks = X[st.selected].astype(np.float64)
    d, d2, arg = st.d.copy(), st.d2.copy(), st.arg.copy()
    if st.F is not None:  # the frontier holds the current values of its points
        d[st.F], d2[st.F], arg[st.F] = st.dF, st.d2F, st.aF
        fresh = np.zeros(len(X), dtype=bool)
        fresh[st.F] = True
        fresh |= st.seen == m
    else:
        fresh = st.seen == m
    rows = np.flatnonzero(fresh & (d > -np.inf))
    assert len(rows)
    diff = X[rows].astype(np.float64)[:, None, :] - picks[None, :, :]
    exact = (diff * diff).sum(axis=2)
    tol = st.err * (1 + 1e-9)
    nearest = exact.min(axis=1)
    own = exact[np.arange(len(rows)), arg[rows]]
    assert (own <= nearest + 2 * tol).all()  # arg: the float32 argmin
    assert (np.abs(d[rows] - nearest) <= tol).all()
    others = exact.copy()
    others[np.arange(len(rows)), arg[rows]] = np.inf
    assert (others.min(axis=1) >= d2[rows] - tol).all()
    return int((d2[rows] > d[rows] + 2.0 * st.err).sum())
