"""Input arrays for a selection (``ArrayData``) and the result (``SelectionResult``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

QueryKey = str | tuple[str, str]


@dataclass
class ArrayData:
    """Everything a selection may read, aligned row by row with the N samples.

    - ``embeddings``: space name -> (N, D) float array (float32 or float64; may be a memmap).
    - ``metadata``: key -> (N,) float array with NaN for missing, or object array of str/None.
    - ``scores``: (task, score) -> (N,) float array.
    - ``predictions``: (task, "CLASS_DISTRIBUTION" | "CATEGORY_COUNT") ->
      ((N, K) matrix of probabilities / counts, K class names).
    - ``queries``: query vectors (M, D) for SIMILARITY, keyed by the input's ``tag_name``, or by
      ``(dataset, tag_name)`` when the input names another dataset (``dataset``/``dataset_id``).
      They must live in the same embedding space as the input's ``embedding``.
    - ``masked``: (N,) bool, masked samples are invisible. ``preselected``: (N,) bool, samples
      already selected (they come first in the result and count toward n).
    """

    embeddings: Mapping[str, np.ndarray] = field(default_factory=dict)
    metadata: Mapping[str, np.ndarray] = field(default_factory=dict)
    scores: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)
    predictions: Mapping[tuple[str, str], tuple[np.ndarray, Sequence[str]]] = field(
        default_factory=dict
    )
    queries: Mapping[QueryKey, np.ndarray] = field(default_factory=dict)
    masked: np.ndarray | None = None
    preselected: np.ndarray | None = None
    n: int | None = None

    def n_samples(self) -> int:
        """Number of samples N, from ``n`` or the first aligned array."""
        if self.n is not None:
            return int(self.n)
        for arr in [
            *self.embeddings.values(),
            *self.metadata.values(),
            *self.scores.values(),
            *(m for m, _ in self.predictions.values()),
        ]:
            return int(np.shape(arr)[0])
        for opt in (self.masked, self.preselected):
            if opt is not None:
                return len(opt)
        return 0


STOPPED_N_REACHED = "n_reached"
STOPPED_MINIMUM_DISTANCE = "minimum_distance"
STOPPED_CANDIDATES_EXHAUSTED = "candidates_exhausted"


@dataclass
class SelectionResult:
    """Outcome of :func:`curation.selection.select`.

    ``indices``: sample indices (into the N rows) in pick order, preselected first.
    ``stopped_by``: ``"n_reached"``, ``"minimum_distance"`` or ``"candidates_exhausted"``.
    ``explanation``: (len(indices), len(strategy_labels)) float64; row i holds, for every
    scoring strategy, ``strength * log(Phi)`` of pick i given the picks before it (the term that
    entered the argmax). NaN for preselected rows and for a term that was constant at that pick
    (diversity before anything was selected). ``strategy_labels`` names the columns.
    ``sequence_length`` > 1 (``sequences.select_sequences``): every L consecutive indices are the
    frames of one picked sequence, and share its explanation row.
    """

    indices: np.ndarray
    stopped_by: str
    explanation: np.ndarray
    strategy_labels: list[str]
    n_requested: int
    n_candidates: int
    n_candidates_after_thresholds: int
    n_preselected: int
    messages: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    sequence_length: int = 1  # > 1: indices are frames, L per picked sequence (``sequences``)

    @property
    def n_selected(self) -> int:
        return len(self.indices)

    def explanation_rows(self) -> list[dict[str, Any]]:
        """JSON-ready per-pick explanation: ``[{"index": i, "rank": r, "terms": {label: v}}]``
        with None instead of NaN/inf."""
        rows = []
        for rank, (idx, vals) in enumerate(zip(self.indices, self.explanation, strict=True)):
            terms = {
                label: (float(v) if math.isfinite(float(v)) else None)
                for label, v in zip(self.strategy_labels, vals, strict=True)
            }
            row: dict[str, Any] = {"index": int(idx), "rank": rank, "terms": terms}
            if self.sequence_length > 1:  # the frames of one picked sequence share its terms
                row["sequence"] = rank // self.sequence_length
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "indices": [int(i) for i in self.indices],
            "stopped_by": self.stopped_by,
            "n_requested": self.n_requested,
            "n_candidates": self.n_candidates,
            "n_candidates_after_thresholds": self.n_candidates_after_thresholds,
            "n_preselected": self.n_preselected,
            "messages": list(self.messages),
            "strategy_labels": list(self.strategy_labels),
            "explanation": self.explanation_rows(),
            "timings": dict(self.timings),
            "sequence_length": self.sequence_length,
        }
