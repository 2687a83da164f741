"""Turn validated strategies plus arrays into the terms of the objective.

Every scoring strategy becomes one of three term kinds over the universe U (the candidates
after masks and thresholds, plus the preselected samples):

- ``WeightTerm``: ``Phi = W(S) + w_c`` (WEIGHTS, and SIMILARITY / TYPICALITY / RANDOM weights);
- ``DiversityTerm``: ``Phi = A(S) + delta(c)``;
- ``BalanceTerm``: ``Phi = 1 / CE(t, normalize(sum_S C + C_c))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SelectionConfig, StrategySpec
from .data import ArrayData
from .errors import DataError
from .kernels import F64, I64, Check, _noop
from .kernels_knn import min_query_distance, typicality_scores
from .options import KnnOptions


@dataclass
class WeightTerm:
    spec: StrategySpec
    strength: float
    w: F64


@dataclass
class DiversityTerm:
    spec: StrategySpec
    strength: float
    X: np.ndarray
    rows: I64 | None
    min_distance: float | None


@dataclass
class BalanceTerm:
    spec: StrategySpec
    strength: float
    C: F64  # (U, K)
    t: F64  # (K,)
    classes: list[str]

    def __post_init__(self) -> None:
        sums = self.C.sum(axis=1)
        pos = sums > 0
        self.zero_rows = np.flatnonzero(~pos)
        self.row_sum_min = float(sums[pos].min()) if pos.any() else 1.0
        self.row_sum_max = float(sums[pos].max()) if pos.any() else 1.0
        with np.errstate(divide="ignore"):
            self.inv_row_sum = np.where(pos, 1.0 / np.where(pos, sums, 1.0), 0.0)


Term = WeightTerm | DiversityTerm | BalanceTerm


# ------------------------------------------------------------------------ input lookups


def embedding_matrix(spec: StrategySpec, data: ArrayData, n: int) -> tuple[str, np.ndarray]:
    path = f"{spec.path}.input.embedding"
    name = spec.input.embedding
    if name is None:
        if len(data.embeddings) == 1:
            name = next(iter(data.embeddings))
        elif not data.embeddings:
            raise DataError(f"{spec.path}.input", "the dataset has no embeddings")
        else:
            names = ", ".join(sorted(data.embeddings))
            raise DataError(path, f"several embedding spaces exist ({names}); name one")
    if name not in data.embeddings:
        raise DataError(path, f"embedding space {name!r} does not exist")
    X = data.embeddings[name]
    if X.ndim != 2 or X.shape[0] != n:
        raise DataError(path, f"embedding space {name!r} must be an ({n}, D) matrix")
    if not np.issubdtype(X.dtype, np.floating):
        raise DataError(path, f"embedding space {name!r} must hold floats")
    return name, X


def numeric_values(spec: StrategySpec, data: ArrayData, n: int) -> F64:
    """Values of a SCORES or METADATA input as float64 with NaN for missing."""
    inp = spec.input
    if inp.type == "SCORES":
        key = (str(inp.task), str(inp.score))
        if key not in data.scores:
            raise DataError(f"{spec.path}.input", f"score {inp.task}/{inp.score} does not exist")
        arr = np.asarray(data.scores[key])
        what = f"score {inp.task}/{inp.score}"
    else:
        if inp.key not in data.metadata:
            raise DataError(f"{spec.path}.input.key", f"metadata key {inp.key!r} does not exist")
        arr = np.asarray(data.metadata[str(inp.key)])
        what = f"metadata key {inp.key!r}"
    if arr.shape != (n,):
        raise DataError(f"{spec.path}.input", f"{what} must have one value per sample ({n})")
    if arr.dtype == object:
        out = np.full(n, np.nan)
        for i, v in enumerate(arr):
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise DataError(f"{spec.path}.input", f"{what} is not numeric (found {v!r})")
            out[i] = float(v)
        return out
    if arr.dtype.kind not in "fiu":
        raise DataError(f"{spec.path}.input", f"{what} is not numeric")
    return arr.astype(np.float64)


def threshold_mask(spec: StrategySpec, data: ArrayData, n: int) -> np.ndarray:
    v = numeric_values(spec, data, n)
    thr = float(spec.threshold)  # type: ignore[arg-type]
    with np.errstate(invalid="ignore"):
        if spec.operation == "SMALLER":
            ok = v < thr
        elif spec.operation == "SMALLER_EQUAL":
            ok = v <= thr
        elif spec.operation == "BIGGER":
            ok = v > thr
        else:
            ok = v >= thr
    return np.asarray(ok & ~np.isnan(v))


# ------------------------------------------------------------------------ builders


def _weights_from_values(spec: StrategySpec, values: F64, universe: I64) -> F64:
    w = values[universe]
    bad = np.isnan(w)
    if bad.any():
        raise DataError(
            f"{spec.path}.input",
            f"{int(bad.sum())} candidate(s) have no value (first: sample {int(universe[bad][0])})",
        )
    if np.isinf(w).any():
        raise DataError(f"{spec.path}.input", "weights must be finite")
    if (w < 0).any():
        raise DataError(
            f"{spec.path}.input",
            f"weights must be >= 0 ({int((w < 0).sum())} candidate(s) are negative)",
        )
    return w


def _check_finite(spec: StrategySpec, X: np.ndarray, universe: I64, check: Check) -> None:
    block = 8192
    whole = len(universe) == len(X)  # every row: slices, no gathered copy
    for a in range(0, len(universe), block):
        check()
        rows = X[a : a + block] if whole else np.take(X, universe[a : a + block], axis=0)
        if not np.isfinite(rows).all():
            raise DataError(
                f"{spec.path}.input",
                "embeddings contain NaN or infinite values for some candidates",
            )


def _rows(universe: I64, n: int) -> I64 | None:
    return None if len(universe) == n else universe


def _balance_matrix(
    spec: StrategySpec, data: ArrayData, n: int, universe: I64
) -> tuple[F64, list[str]]:
    inp = spec.input
    if inp.type == "PREDICTIONS":
        key = (str(inp.task), str(inp.name))
        if key not in data.predictions:
            raise DataError(f"{spec.path}.input", f"predictions {inp.task}/{inp.name} do not exist")
        mat, names = data.predictions[key]
        mat = np.asarray(mat, dtype=np.float64)
        names = [str(c) for c in names]
        if mat.shape != (n, len(names)):
            raise DataError(
                f"{spec.path}.input",
                f"predictions {inp.task}/{inp.name} must be an ({n}, {len(names)}) matrix",
            )
        C = mat[universe]
        if not np.isfinite(C).all() or (C < 0).any():
            raise DataError(f"{spec.path}.input", "prediction values must be finite and >= 0")
        return C, names
    if inp.key not in data.metadata:
        raise DataError(f"{spec.path}.input.key", f"metadata key {inp.key!r} does not exist")
    arr = np.asarray(data.metadata[str(inp.key)])
    if arr.shape != (n,):
        raise DataError(f"{spec.path}.input", f"metadata {inp.key!r} must have {n} values")
    if arr.dtype.kind not in "OUS":
        raise DataError(
            f"{spec.path}.input.key",
            f"BALANCE needs string metadata; {inp.key!r} is numeric",
        )
    values = arr.astype(object)
    for v in values:
        if v is not None and not isinstance(v, str) and not (isinstance(v, float) and v != v):
            raise DataError(
                f"{spec.path}.input.key",
                f"BALANCE needs string metadata; {inp.key!r} holds {v!r}",
            )
    names = sorted({v for v in values if isinstance(v, str)})
    col = {c: j for j, c in enumerate(names)}
    C = np.zeros((len(universe), len(names)), dtype=np.float64)
    for r, i in enumerate(universe):
        v = values[i]
        if isinstance(v, str):
            C[r, col[v]] = 1.0
    return C, names


def _balance_term(spec: StrategySpec, data: ArrayData, n: int, universe: I64) -> BalanceTerm:
    C, names = _balance_matrix(spec, data, n, universe)
    if spec.distribution == "TARGET":
        assert spec.target is not None
        col = {c: j for j, c in enumerate(names)}
        listed = []
        shares = []
        for cls, share in spec.target:
            if cls not in col:
                known = ", ".join(names[:20]) or "none"
                raise DataError(
                    f"{spec.path}.strategy.target.{cls}",
                    f"unknown class {cls!r} (known: {known})",
                )
            listed.append(col[cls])
            shares.append(share)
        rest = [j for j in range(len(names)) if j not in set(listed)]
        remainder = max(0.0, 1.0 - sum(shares))
        cols = [C[:, j] for j in listed]
        t = list(shares)
        labels = [names[j] for j in listed]
        if rest or remainder > 0:
            cols.append(C[:, rest].sum(axis=1) if rest else np.zeros(len(C)))
            t.append(remainder)
            labels.append("<other>")
        Cm = np.stack(cols, axis=1) if cols else np.zeros((len(C), 0))
        tv = np.asarray(t, dtype=np.float64)
    else:
        totals = C.sum(axis=0)
        present = totals > 0
        if not present.any():
            raise DataError(f"{spec.path}.input", "no candidate has any class to balance")
        Cm = np.ascontiguousarray(C[:, present])
        labels = [c for c, p in zip(names, present, strict=True) if p]
        uniform = spec.distribution == "UNIFORM"
        tv = np.ones(len(labels)) if uniform else totals[present]
    tv = tv / tv.sum()
    return BalanceTerm(spec, spec.strength, np.ascontiguousarray(Cm), tv, labels)


def build_terms(
    config: SelectionConfig,
    data: ArrayData,
    n: int,
    universe: I64,
    check: Check = _noop,
    knn: KnnOptions | None = None,
    notes: list[str] | None = None,
) -> list[Term]:
    """One term per scoring strategy, in config order. ``knn`` chooses how typicality finds
    neighbours (default: exact); sentences for the run's notes go into ``notes``."""
    terms: list[Term] = []
    rows = _rows(universe, n)
    checked: set[str] = set()
    for spec in config.scoring:
        if spec.type in ("DIVERSITY", "TYPICALITY", "SIMILARITY"):
            name, X = embedding_matrix(spec, data, n)
            if name not in checked:
                _check_finite(spec, X, universe, check)
                checked.add(name)
        if spec.type == "DIVERSITY":
            terms.append(
                DiversityTerm(
                    spec, spec.strength, X, rows, spec.stopping_condition_minimum_distance
                )
            )
        elif spec.type == "TYPICALITY":
            if len(universe) < 2:
                raise DataError(f"{spec.path}.strategy", "TYPICALITY needs at least 2 candidates")
            w = typicality_scores(
                X, rows, spec.num_nearest_neighbors, check=check, knn=knn, notes=notes
            )
            terms.append(WeightTerm(spec, spec.strength, w))
        elif spec.type == "SIMILARITY":
            qkey = spec.input.query_key
            if qkey is None or qkey not in data.queries:
                raise DataError(f"{spec.path}.input.tag_name", f"query tag {qkey!r} does not exist")
            Q = np.asarray(data.queries[qkey])
            if Q.ndim != 2 or Q.shape[0] == 0:
                raise DataError(f"{spec.path}.input.tag_name", f"query tag {qkey!r} is empty")
            if Q.shape[1] != X.shape[1]:
                raise DataError(
                    f"{spec.path}.input.tag_name",
                    f"query vectors have dimension {Q.shape[1]}, the space has {X.shape[1]}",
                )
            if not np.isfinite(Q).all():
                raise DataError(f"{spec.path}.input.tag_name", "query vectors contain NaN")
            d = min_query_distance(X, rows, Q, check=check)
            mean = float(d.mean()) if len(d) else 0.0
            sim = np.ones_like(d) if mean == 0.0 else np.exp(-d / mean)
            terms.append(WeightTerm(spec, spec.strength, sim))
        elif spec.type == "WEIGHTS":
            if spec.input.type == "RANDOM":
                w = np.random.default_rng(spec.input.random_seed).random(len(universe))
            else:
                w = _weights_from_values(spec, numeric_values(spec, data, n), universe)
            terms.append(WeightTerm(spec, spec.strength, w))
        elif spec.type == "BALANCE":
            terms.append(_balance_term(spec, data, n, universe))
    return terms
