"""Asking for an embedding space's 2D map: computed on the spot when small, else queued once.

The request side of ``browse.projections`` (which computes and encodes, and queues nothing):
this module enqueues ``curation.tasks.projection_compute_task``, which imports
``browse.projections``, so keeping the two apart leaves no import cycle.

Invariants: a space is queued at most once (``{"pending": true}`` is set by a conditional
UPDATE before the task is enqueued); the binary is built once per projection and cached
(``projections.projection_binary_cached``), its ETag a hash of the bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache

from curation.browse import projections
from curation.browse.projections import (
    BINARY_CACHE_SECONDS,
    MapBinary,
    binary_cache_key,
    projection_binary_cached,
    projection_compute,
    projection_encode,
    projection_ready,
)
from curation.models import EmbeddingSpace
from curation.tasks import projection_compute_task


def projection_request(*, space: EmbeddingSpace) -> dict[str, Any] | None:
    """The cached map of ``space``; computes it now when small (``projections.INLINE_LIMIT``
    rows at most), else queues the background task once and returns None (the page polls)."""
    projection = space.projection
    if projection_ready(projection):
        return projection
    if space.count <= projections.INLINE_LIMIT:
        return projection_compute(space=space)
    if not (isinstance(projection, dict) and projection.get("pending")):
        marked = EmbeddingSpace.objects.filter(pk=space.pk, projection__isnull=True).update(
            projection={"pending": True}
        )
        if marked:
            projection_compute_task.enqueue(space.pk)
    return None


def projection_binary(*, space: EmbeddingSpace) -> MapBinary | None:
    """The map's binary with its ETag, or None while the projection is being computed
    (``projection_request`` queues it). Built once per projection and cached: the ETag is
    a hash of the bytes, so a browser that has them gets 304 Not Modified."""
    found = projection_binary_cached(space=space)
    if found is not None:
        return found
    if "projection" in space.get_deferred_fields():
        space.refresh_from_db(fields=["projection"])
    projection = projection_request(space=space)
    if projection is None:
        return None
    data = projection_encode(projection)
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    cache.set(binary_cache_key(space), (etag, data), BINARY_CACHE_SECONDS)
    return MapBinary(etag=etag, data=data)
