"""Greedy solver (compatible mode, see shared/selection-semantics.md).

Each step picks ``argmax_c sum_s strength_s * log(Phi_s(S, c))`` over the unselected universe,
ties to the lowest index, NaN as -inf. The value of every term is evaluated in float64 exactly as
written; diversity distances are maintained in float32 with a proven error bound and only the
candidates that can still win under that bound are re-evaluated from the float64 vectors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .config import SelectionConfig, parse_config
from .data import (
    STOPPED_CANDIDATES_EXHAUSTED,
    STOPPED_MINIMUM_DISTANCE,
    STOPPED_N_REACHED,
    ArrayData,
    SelectionResult,
)
from .diversity import DiversityState
from .errors import DataError, SelectionCancelled
from .kernels import F64, I64
from .kernels_blas import single_threaded_blas
from .objective import Objective
from .options import KnnOptions, knn_options
from .strategies import build_terms, threshold_mask

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


class _Ticker:
    """Throttled progress reporting and cancel polling."""

    def __init__(self, progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        self.progress = progress
        self.cancel = cancel
        self.last_progress = -math.inf
        self.last_cancel = -math.inf

    def check(self) -> None:
        if self.cancel is None:
            return
        now = time.monotonic()
        if now - self.last_cancel >= 0.05:
            self.last_cancel = now
            if self.cancel():
                raise SelectionCancelled("the selection was cancelled")

    def tick(self, done: int, total: int, *, final: bool = False) -> None:
        self.check()
        if self.progress is None:
            return
        now = time.monotonic()
        if final or now - self.last_progress >= 0.2:
            self.last_progress = now
            self.progress(done, total)


def _bool_array(arr: Any, n: int, name: str) -> np.ndarray:
    if arr is None:
        return np.zeros(n, dtype=bool)
    out = np.asarray(arr)
    if out.shape != (n,) or out.dtype != bool:
        raise DataError(name, f"must be a boolean array with one value per sample ({n})")
    return out


def select(
    config: Mapping[str, Any] | SelectionConfig,
    data: ArrayData,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    *,
    knn: Mapping[str, Any] | KnnOptions | None = None,
) -> SelectionResult:
    """Run a selection; see :class:`ArrayData` and :class:`SelectionResult`.

    ``config``: the config dict (parsed here) or an already-parsed :class:`SelectionConfig`
    (used as is, not parsed again: the web app's prepare step hands the engine its parse).

    Raises :class:`ConfigError` / :class:`DataError` before any work when the config or the
    data is unusable, and :class:`SelectionCancelled` when ``cancel()`` returns True.
    ``progress(done, total)`` is called at most every 0.2 s and once at the end.
    ``knn``: how TYPICALITY finds neighbours (``options.knn_options``; default ``auto``:
    exact up to 200,000 candidates, approximate above, with its recall in ``messages``).
    """
    knn_opts = knn_options(knn)
    # BLAS single-threaded by default: the kernels issue many small GEMM/GEMV calls, for which
    # OpenBLAS's thread hand-off costs more than it saves; every large pass (batched updates,
    # full passes, projections, k-NN blocks) borrows all threads (see kernels_blas)
    with single_threaded_blas():
        return _select(config, data, progress, cancel, knn_opts)


def _select(
    config: Mapping[str, Any] | SelectionConfig,
    data: ArrayData,
    progress: ProgressFn | None,
    cancel: CancelFn | None,
    knn: KnnOptions,
) -> SelectionResult:
    t_start = time.perf_counter()
    cfg = config if isinstance(config, SelectionConfig) else parse_config(config)
    if cfg.selected_sequence_length > 1:
        raise DataError(
            "selected_sequence_length",
            "sequences need each row's video and frame index: call "
            "curation.selection.select_sequences(config, data, videos, frame_indices)",
        )
    ticker = _Ticker(progress, cancel)
    n = data.n_samples()
    masked = _bool_array(data.masked, n, "masked")
    pre_mask = _bool_array(data.preselected, n, "preselected") & ~masked
    messages: list[str] = []
    n_dropped_pre = int((_bool_array(data.preselected, n, "preselected") & masked).sum())
    if n_dropped_pre:
        messages.append(f"{n_dropped_pre} preselected sample(s) are masked and were ignored")

    visible = ~masked
    passing = visible.copy()
    for spec in cfg.thresholds:
        passing &= threshold_mask(spec, data, n)
    n_after = int(passing.sum())
    universe_mask = passing | pre_mask
    kept_pre = int((pre_mask & ~passing).sum())
    if kept_pre:
        messages.append(f"{kept_pre} preselected sample(s) fail a threshold but stay selected")
    universe: I64 = np.flatnonzero(universe_mask).astype(np.int64)
    n_requested = cfg.n_for(n_after)

    terms = build_terms(cfg, data, n, universe, ticker.check, knn=knn, notes=messages)
    t_prep = time.perf_counter()
    labels = [t.spec.label for t in terms]
    pre_pos = np.flatnonzero(pre_mask[universe]).astype(np.int64)
    n_u = len(universe)
    target = n_requested
    if len(pre_pos) >= n_requested:
        target = len(pre_pos)
        if len(pre_pos) > n_requested:
            messages.append(
                f"the {len(pre_pos)} preselected samples already exceed n={n_requested}; "
                "nothing new was added"
            )
    elif n_requested > n_u:
        target = n_u
        messages.append(f"n={n_requested} is larger than the {n_u} candidates: selected all {n_u}")

    obj = Objective(
        terms,
        n_u,
        lambda X, rows, lazy, stale: DiversityState(
            X, rows, check=ticker.check, lazy=lazy, stale=stale, capacity=target
        ),
    )
    picks: list[int] = []
    expl: list[F64 | None] = []
    nan_row = np.full(len(terms), np.nan)
    for p in pre_pos:
        obj.add(int(p), ticker.check)
        picks.append(int(p))
        expl.append(nan_row)
    stopped_by = STOPPED_N_REACHED
    while len(picks) < target:
        ticker.tick(len(picks), target)
        c, contrib = obj.best(ticker.check)
        if c < 0:
            break
        if obj.stop_for_min_distance(c):
            stopped_by = STOPPED_MINIMUM_DISTANCE
            messages.append(
                f"stopped at {len(picks)} samples: the next one would be closer than the "
                "minimum distance"
            )
            break
        obj.add(c, ticker.check)
        picks.append(c)
        expl.append(contrib)
    if stopped_by == STOPPED_N_REACHED and target < n_requested:
        stopped_by = STOPPED_CANDIDATES_EXHAUSTED
    ticker.tick(len(picks), target, final=True)
    indices = universe[np.asarray(picks, dtype=np.int64)] if picks else np.zeros(0, np.int64)
    t_explain = time.perf_counter()
    # diversity alone settles its explanation in one pass at the end
    later = [i for i, row in enumerate(expl) if row is None]
    filled = dict(zip(later, obj.deferred(later), strict=True))
    rows = [filled[i] if row is None else row for i, row in enumerate(expl)]
    explanation = np.vstack(rows) if rows else np.zeros((0, len(terms)))
    t_end = time.perf_counter()
    return SelectionResult(
        indices=indices.astype(np.int64),
        stopped_by=stopped_by,
        explanation=explanation,
        strategy_labels=labels,
        n_requested=n_requested,
        n_candidates=int(visible.sum()),
        n_candidates_after_thresholds=n_after,
        n_preselected=len(pre_pos),
        messages=messages,
        timings={
            "prepare_s": t_prep - t_start,
            "greedy_s": t_end - t_prep,
            # part of greedy_s: the explanation settled after the picks (diversity alone)
            "explain_s": t_end - t_explain,
            "total_s": t_end - t_start,
            "distance_evaluations": float(obj.touched),
        },
    )
