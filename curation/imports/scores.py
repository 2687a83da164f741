"""Active-learning scores computed from class probabilities (see the semantics doc).

Each score is rescaled so a one-hot prediction gives 0 and the uniform prediction gives 1.
``prediction_scores`` turns an imported prediction task's records into scores per sample.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from curation.formats.records import CLASSIFICATION, AnnotationRecord

SCORE_NAMES = ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy")


def classification_scores(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Scores per row of an (N, K) probability matrix (rows are renormalised to sum to 1)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError("Probabilities must be an (N, K) matrix with at least two classes.")
    if (p < 0).any():
        raise ValueError("Probabilities must not be negative.")
    total = p.sum(axis=1, keepdims=True)
    p = p / np.where(total == 0, 1.0, total)
    k = p.shape[1]
    ordered = np.sort(p, axis=1)
    top, second = ordered[:, -1], ordered[:, -2]
    least_confidence = (1.0 - top) / (1.0 - 1.0 / k)
    margin = 1.0 - (top - second)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(p), 0.0)
    entropy = -plogp.sum(axis=1) / np.log2(k)
    return {
        "uncertainty_least_confidence": np.clip(least_confidence, 0.0, 1.0),
        "uncertainty_margin": np.clip(margin, 0.0, 1.0),
        "uncertainty_entropy": np.clip(entropy, 0.0, 1.0),
    }


def prediction_scores(
    kind: str, by_sample: Mapping[int, list[AnnotationRecord]]
) -> dict[str, dict[int, float]]:
    """Active-learning scores per sample id (semantics doc): classification from probabilities;
    detection per box reduced by max per image (0 without boxes) and
    ``objectness_least_confidence = 1 - mean(box scores)``."""
    sample_ids = list(by_sample)
    result: dict[str, dict[int, float]] = {}
    if kind == CLASSIFICATION:
        rows = [(s, r[0].probabilities) for s, r in by_sample.items() if r and r[0].probabilities]
        if rows:
            scores = classification_scores(np.array([p for _, p in rows]))
            for name, values in scores.items():
                result[name] = {s: float(v) for (s, _), v in zip(rows, values, strict=True)}
        return result
    boxes = [
        (s, r.probabilities) for s, records in by_sample.items() for r in records if r.probabilities
    ]
    if boxes:
        scores = classification_scores(np.array([p for _, p in boxes]))
        for name, values in scores.items():
            per_sample = dict.fromkeys(sample_ids, 0.0)
            for (s, _), v in zip(boxes, values, strict=True):
                per_sample[s] = max(per_sample[s], float(v))
            result[name] = per_sample
    if any(r.score is not None for records in by_sample.values() for r in records):
        objectness = {}
        for s, records in by_sample.items():
            box_scores = [r.score for r in records if r.score is not None]
            objectness[s] = 1.0 - float(np.mean(box_scores)) if box_scores else 0.0
        result["objectness_least_confidence"] = objectness
    return result
