"""Active-learning scores computed from class probabilities (see the semantics doc).

Each score is rescaled so a one-hot prediction gives 0 and the uniform prediction gives 1.
"""

from __future__ import annotations

import numpy as np

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
