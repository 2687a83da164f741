"""2D maps of embedding spaces: a PCA projection computed once, cached in
``EmbeddingSpace.projection`` as compact lists.

The cached value is ``{"method": "pca", "scale": 10000, "ids": [...], "x": [...], "y": [...]}``:
integer map coordinates in ``0..scale`` (both axes scaled to the unit square, aspect kept),
row-aligned with sample ids. ``method`` is ``"umap"`` when the optional ``umap`` package
(umap-learn, not a dependency) is importable: fitted on an even subsample of at most
``FIT_ROWS`` rows, the other rows placed with ``transform``; otherwise ``"pca"``. The map page
names the method. ``{"pending": true}`` marks a computation that has been queued.
Small spaces are projected on the spot; larger ones by a background task
(``curation.tasks.projection_compute_task``), both asked for by ``browse.maps``. Storing new
vectors resets the cache (``embedding_space_store``). This module computes and encodes only: it
queues nothing, so the task module and the filters can import it without an import cycle.

The map page downloads the points once per projection as a compact binary
(``browse.maps.projection_binary``, ~8 bytes a point, cached by the server and, via its ETag, by the
browser), then only bit masks for filters and tags. Layout, little-endian::

    b"CMAP"  uint32 version (1)  uint32 count  uint32 scale      16-byte header
    uint32 ids[count]  uint16 x[count]  uint16 y[count]         row-aligned
"""

from __future__ import annotations

import importlib.util
import logging
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache

from curation.models import EmbeddingSpace
from curation.selection.kernels import pca_project
from curation.storage.embeddings import embedding_space_load

logger = logging.getLogger(__name__)

SCALE = 10_000
INLINE_LIMIT = 20_000  # project spaces with at most this many rows inside the request
UMAP_INLINE_LIMIT = 2_000  # UMAP is far slower: larger spaces go to the background task
METHOD_NAMES = {"pca": "PCA", "umap": "UMAP"}
FIT_ROWS = 50_000  # PCA axes are fitted on an even subsample of at most this many rows
CHUNK = 65_536
MAGIC = b"CMAP"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sIII")
BINARY_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class MapBinary:
    etag: str  # quoted, as sent in the ETag header
    data: bytes

    @property
    def count(self) -> int:
        return int(HEADER.unpack_from(self.data)[2])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(ids, x, y, scale) as read-only views of the bytes."""
        _, _, n, scale = HEADER.unpack_from(self.data)
        offset = HEADER.size
        ids = np.frombuffer(self.data, dtype="<u4", count=n, offset=offset)
        x = np.frombuffer(self.data, dtype="<u2", count=n, offset=offset + 4 * n)
        y = np.frombuffer(self.data, dtype="<u2", count=n, offset=offset + 6 * n)
        return ids, x, y, int(scale)


def projection_ready(projection: Any) -> bool:
    return isinstance(projection, dict) and "ids" in projection


def pca_2d(matrix: np.ndarray) -> np.ndarray:
    """The map's 2D projection: the engine's ``pca_project`` with the map's fit size."""
    return pca_project(matrix, 2, fit_rows=FIT_ROWS, chunk=CHUNK)


def umap_available() -> bool:
    """Whether maps are made with UMAP (the optional ``umap`` package is importable)."""
    return importlib.util.find_spec("umap") is not None


def inline_limit() -> int:
    """The most rows a writer projects on the spot (more: the background task)."""
    return min(INLINE_LIMIT, UMAP_INLINE_LIMIT) if umap_available() else INLINE_LIMIT


def umap_2d(matrix: np.ndarray) -> np.ndarray:
    """UMAP to 2D: fitted on an even subsample of at most ``FIT_ROWS`` rows, the other rows
    placed by ``transform`` in chunks (memory stays O(rows))."""
    import umap  # optional and slow to import (numba): only when a map is computed

    n = len(matrix)
    fit = np.unique(np.linspace(0, n - 1, min(n, FIT_ROWS)).astype(np.int64))
    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(fit) - 1), random_state=0)
    out = np.empty((n, 2), dtype=np.float64)
    out[fit] = reducer.fit_transform(np.asarray(matrix[fit], dtype=np.float32))
    rest = np.setdiff1d(np.arange(n), fit, assume_unique=True)
    for start in range(0, len(rest), CHUNK):
        rows = rest[start : start + CHUNK]
        out[rows] = reducer.transform(np.asarray(matrix[rows], dtype=np.float32))
    return out


def project_2d(matrix: np.ndarray) -> tuple[np.ndarray, str]:
    """The map's 2D points and the method's key: UMAP when importable (and at least 4 rows,
    UMAP's smallest neighbourhood), else PCA."""
    if umap_available() and len(matrix) >= 4:
        return umap_2d(matrix), "umap"
    return pca_2d(matrix), "pca"


def projection_method(space: EmbeddingSpace) -> str:
    """The display name of the method that made the space's map ("" without a map); reads one
    key, never the whole cached projection."""
    method = (
        EmbeddingSpace.objects.filter(pk=space.pk)
        .values_list("projection__method", flat=True)
        .first()
    )
    return METHOD_NAMES.get(str(method), "") if method else ""


def projection_compute(*, space: EmbeddingSpace) -> dict[str, Any]:
    """Project the space, store the cached map on it and return it."""
    loaded = embedding_space_load(space)
    points, method = project_2d(loaded.matrix)
    low = points.min(axis=0)
    span = float((points.max(axis=0) - low).max()) or 1.0
    scaled = np.rint((points - low) / span * SCALE).astype(np.int64)
    projection = {
        "method": method,
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


def projection_encode(projection: dict[str, Any]) -> bytes:
    """The cached projection as the map's binary (see the module docstring)."""
    ids = np.asarray(projection["ids"], dtype=np.int64)
    if len(ids) and (ids.min() < 0 or ids.max() >= 2**32):
        raise ValueError("Sample ids beyond 32 bits cannot be sent in the map's binary format.")
    scale = int(projection.get("scale", SCALE))
    parts = [
        HEADER.pack(MAGIC, FORMAT_VERSION, len(ids), scale),
        ids.astype("<u4").tobytes(),
        np.asarray(projection["x"], dtype="<u2").tobytes(),
        np.asarray(projection["y"], dtype="<u2").tobytes(),
    ]
    return b"".join(parts)


def binary_cache_key(space: EmbeddingSpace) -> str:
    return f"curation:map-binary:{FORMAT_VERSION}:{space.pk}:{space.storage_key}"


def projection_binary_cached(*, space: EmbeddingSpace) -> MapBinary | None:
    """The map's binary if this server has it cached (no projection is loaded)."""
    cached = cache.get(binary_cache_key(space))
    return MapBinary(*cached) if cached else None
