"""2D maps of embedding spaces: a PCA projection computed once, cached in
``EmbeddingSpace.projection`` as compact lists.

The cached value is ``{"method": "pca", "scale": 10000, "ids": [...], "x": [...], "y": [...]}``:
integer map coordinates in ``0..scale`` (both axes scaled to the unit square, aspect kept),
row-aligned with sample ids. ``{"pending": true}`` marks a computation that has been queued.
Small spaces are projected on the spot; larger ones by a background task
(``curation.tasks_projections``). Storing new vectors resets the cache
(``embedding_space_store``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from curation.models import EmbeddingSpace
from curation.services.embeddings import embedding_space_load

logger = logging.getLogger(__name__)

SCALE = 10_000
INLINE_LIMIT = 20_000  # project spaces with at most this many rows inside the request
FIT_ROWS = 50_000  # PCA axes are fitted on an even subsample of at most this many rows
CHUNK = 65_536


def projection_ready(projection: Any) -> bool:
    return isinstance(projection, dict) and "ids" in projection


def pca_2d(matrix: np.ndarray) -> np.ndarray:
    """The first two principal components of the rows of ``matrix`` (N x 2, float32),
    fitted on an even subsample and applied to all rows in chunks (memory-mapped input)."""
    n = matrix.shape[0]
    step = max(1, n // FIT_ROWS)
    fit = np.asarray(matrix[::step], dtype=np.float64)
    mean = fit.mean(axis=0)
    if fit.shape[0] < 2 or fit.shape[1] < 2:
        axes = np.eye(fit.shape[1], 2)
    else:
        _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
        axes = vt[:2].T
        if axes.shape[1] < 2:
            axes = np.pad(axes, ((0, 0), (0, 2 - axes.shape[1])))
    out = np.empty((n, 2), dtype=np.float32)
    for start in range(0, n, CHUNK):
        block = np.asarray(matrix[start : start + CHUNK], dtype=np.float64)
        out[start : start + CHUNK] = (block - mean) @ axes
    return out


def projection_compute(*, space: EmbeddingSpace) -> dict[str, Any]:
    """Project the space, store the cached map on it and return it."""
    loaded = embedding_space_load(space)
    points = pca_2d(loaded.matrix)
    low = points.min(axis=0)
    span = float((points.max(axis=0) - low).max()) or 1.0
    scaled = np.rint((points - low) / span * SCALE).astype(np.int64)
    projection = {
        "method": "pca",
        "scale": SCALE,
        "ids": loaded.sample_ids.astype(np.int64).tolist(),
        "x": scaled[:, 0].tolist(),
        "y": scaled[:, 1].tolist(),
    }
    # Only write if the vectors are still those we projected (a re-import resets the cache).
    EmbeddingSpace.objects.filter(pk=space.pk, storage_key=space.storage_key).update(
        projection=projection
    )
    return projection


def projection_request(*, space: EmbeddingSpace) -> dict[str, Any] | None:
    """The cached map of ``space``; computes it now when small, else queues the background
    task once and returns None (the page polls)."""
    projection = space.projection
    if projection_ready(projection):
        return projection
    if space.count <= INLINE_LIMIT:
        return projection_compute(space=space)
    if not (isinstance(projection, dict) and projection.get("pending")):
        from curation.tasks_projections import projection_compute_task

        marked = EmbeddingSpace.objects.filter(pk=space.pk, projection__isnull=True).update(
            projection={"pending": True}
        )
        if marked:
            projection_compute_task.enqueue(space.pk)
    return None
