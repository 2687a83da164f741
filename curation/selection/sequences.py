"""Sequence selection: runs of L consecutive video frames as the unit of a selection
(``selected_sequence_length``, a LightlyOne Worker config key next to ``n_samples``).

Pure numpy, like the rest of the engine. The caller gives, per row of ``ArrayData``, a group id
(the row's video; negative for a row that is no video frame) and a position (its frame index).

Semantics for L > 1:

- **Units.** Each video's candidate frames, sorted by frame index (ties by row), are split into
  consecutive chunks of L frames. The incomplete trailing chunk of a video is dropped (as
  LightlyOne does). Rows that are no video frame (images) cannot form sequences and are left
  out; both are counted in the result's first message. Chunks follow the candidate frames, so
  when a filter leaves out frames 3 and 4, frames 2, 5 and 6 can share a chunk. Units are
  ordered by the row of their first frame (candidate order: the earliest unit wins a tie and
  diversity starts at unit 0).
- **Aggregated inputs.** Embeddings: the mean of the frames' vectors (summed in float64 in frame
  order, divided by L, stored in the space's dtype), then used by every strategy as any vector
  is (SIMILARITY's and TYPICALITY's own scaling included). Numeric metadata, scores and
  prediction matrices: the mean (a frame without a value makes its unit's value missing).
  Categorical metadata (object arrays: BALANCE on ``video_name``): the first frame's value; the
  frames of one video share ``video_name``. A unit is masked when any of its frames is masked
  and pre-selected when any of its frames is pre-selected. Query vectors are not aggregated.
- **Count.** ``n_samples`` is a multiple of L (the parser says so at ``n_samples``); the engine
  selects ``n_samples / L`` units. ``proportion_samples`` applies to the units, so it rounds
  down to a whole number of sequences (at least one).
- **Result.** Each picked unit expands to its L frames in frame order; units keep their pick
  order. Counts of the result (requested, candidates, pre-selected) are in frames; every frame
  of a unit carries the unit's explanation row.

With L = 1 nothing changes: :func:`select_sequences` is exactly :func:`select`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .config import SelectionConfig, parse_config
from .data import ArrayData, SelectionResult
from .engine import CancelFn, ProgressFn, select
from .errors import DataError
from .kernels import I64
from .options import KnnOptions

PATH = "selected_sequence_length"


@dataclass(frozen=True)
class SequencePlan:
    """How the N rows form units: ``members[u]`` are the L rows of unit ``u`` in frame order."""

    length: int
    members: I64  # (U, L)
    n_rows: int
    n_not_frames: int  # rows with no video: left out
    n_trailing: int  # frames of incomplete trailing chunks: left out
    n_videos: int  # videos with at least one unit

    @property
    def n_units(self) -> int:
        return int(self.members.shape[0])

    def note(self) -> str:
        """One sentence for the result's messages."""
        L = self.length
        text = (
            f"Selected sequences of {L} consecutive frames: {self.n_units} sequence(s) from "
            f"{self.n_videos} video(s) were the candidates"
        )
        left = []
        if self.n_trailing:
            left.append(f"{self.n_trailing} trailing frame(s) that complete no sequence")
        if self.n_not_frames:
            left.append(f"{self.n_not_frames} sample(s) that are no video frame")
        if left:
            text += "; left out: " + " and ".join(left)
        return text + " (counts in the engine's lines below are sequences)"


def sequence_plan(groups: np.ndarray, positions: np.ndarray, length: int) -> SequencePlan:
    """The units of ``length`` frames: ``groups`` (N,) int, negative = no frame; ``positions``
    (N,) the frame index of each row."""
    groups = np.asarray(groups, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    n = len(groups)
    if groups.shape != (n,) or positions.shape != (n,):
        raise DataError(PATH, f"video and frame index must have one value per sample ({n})")
    if length < 1:
        raise DataError(PATH, "must be >= 1")
    rows = np.flatnonzero(groups >= 0)
    order = np.lexsort((rows, positions[rows], groups[rows]))  # video, frame, row
    ordered = rows[order]
    g = groups[ordered]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, len(g)])
    rank = np.arange(len(g)) - np.repeat(starts, counts)
    keep = rank < np.repeat(counts // length * length, counts)
    members = ordered[keep].reshape(-1, length)
    members = members[np.argsort(members[:, 0], kind="stable")]
    return SequencePlan(
        length=length,
        members=np.ascontiguousarray(members, dtype=np.int64),
        n_rows=n,
        n_not_frames=n - len(rows),
        n_trailing=int((~keep).sum()),
        n_videos=int((counts >= length).sum()),
    )


def _mean_rows(arr: np.ndarray, members: I64) -> np.ndarray:
    """Mean over each unit's rows, summed in float64 in frame order."""
    total = np.take(arr, members[:, 0], axis=0).astype(np.float64)
    for j in range(1, members.shape[1]):
        total += np.take(arr, members[:, j], axis=0)
    total /= members.shape[1]
    return total


def _any_rows(arr: np.ndarray | None, members: I64) -> np.ndarray | None:
    if arr is None:
        return None
    return np.asarray(arr, dtype=bool)[members].any(axis=1)


def _metadata(arr: np.ndarray, members: I64) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind in "fiu":
        return _mean_rows(arr, members)
    return arr[members[:, 0]]  # categorical: the first frame's value


def aggregate(data: ArrayData, plan: SequencePlan) -> ArrayData:
    """``data`` with one row per unit of ``plan`` (see the module docstring)."""
    m = plan.members
    embeddings = {}
    for name, X in data.embeddings.items():
        mean = _mean_rows(X, m)
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        embeddings[name] = mean.astype(dtype, copy=False)
    return ArrayData(
        embeddings=embeddings,
        metadata={k: _metadata(v, m) for k, v in data.metadata.items()},
        scores={k: _mean_rows(np.asarray(v, dtype=np.float64), m) for k, v in data.scores.items()},
        predictions={
            k: (_mean_rows(np.asarray(mat, dtype=np.float64), m), names)
            for k, (mat, names) in data.predictions.items()
        },
        queries=data.queries,
        masked=_any_rows(data.masked, m),
        preselected=_any_rows(data.preselected, m),
        n=plan.n_units,
    )


def expand(unit_indices: np.ndarray, plan: SequencePlan) -> I64:
    """The frame rows of the picked units: each unit's L frames in frame order, units in the
    given (pick) order."""
    picked = np.asarray(unit_indices, dtype=np.int64)
    return plan.members[picked].reshape(-1).astype(np.int64)


def expand_result(result: SelectionResult, plan: SequencePlan) -> SelectionResult:
    """A unit-level result in frames: rows expanded, counts times L, the plan's note first."""
    L = plan.length
    return replace(
        result,
        indices=expand(result.indices, plan),
        explanation=np.repeat(result.explanation, L, axis=0),
        n_requested=result.n_requested * L,
        n_candidates=result.n_candidates * L,
        n_candidates_after_thresholds=result.n_candidates_after_thresholds * L,
        n_preselected=result.n_preselected * L,
        messages=[plan.note(), *result.messages],
        sequence_length=L,
    )


def unit_config(config: SelectionConfig) -> SelectionConfig:
    """The config the engine runs on the units: ``n_samples / L`` of them."""
    L = config.selected_sequence_length
    n = None if config.n_samples is None else config.n_samples // L
    return replace(config, n_samples=n, selected_sequence_length=1)


def select_sequences(
    config: Mapping[str, Any] | SelectionConfig,
    data: ArrayData,
    groups: np.ndarray,
    positions: np.ndarray,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    *,
    knn: Mapping[str, Any] | KnnOptions | None = None,
) -> SelectionResult:
    """:func:`select` with ``selected_sequence_length`` honoured: ``groups`` (N,) the video of
    each row (negative: no frame), ``positions`` (N,) its frame index. ``progress`` counts
    frames. Raises :class:`DataError` at ``selected_sequence_length`` when no video has L
    candidate frames."""
    cfg = config if isinstance(config, SelectionConfig) else parse_config(config)
    L = cfg.selected_sequence_length
    if L == 1:
        return select(cfg, data, progress, cancel, knn=knn)
    plan = sequence_plan(groups, positions, L)
    if plan.n_units == 0:
        where = (
            "no candidate is a video frame"
            if plan.n_not_frames == plan.n_rows
            else (f"no video has {L} candidate frames")
        )
        raise DataError(PATH, f"{where}, so no sequence of {L} frames can be selected")
    scaled = None
    if progress is not None:
        report = progress

        def scaled(done: int, total: int) -> None:
            report(done * L, total * L)

    result = select(unit_config(cfg), aggregate(data, plan), scaled, cancel, knn=knn)
    return expand_result(result, plan)
