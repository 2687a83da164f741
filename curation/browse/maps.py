"""An embedding space's 2D map: scheduled by the writes that store vectors, read by the pages.

Writers (imports, the demo) call ``projection_schedule`` once the vectors are stored: a small
space is projected on the spot (the writer is already background work), a larger one is queued
once (``{"pending": true}`` set by a conditional UPDATE, then ``browse.tasks`` enqueued on
commit). The pages only read: ``projection_status`` and ``projection_binary`` never write the
database (the binary is cached in Django's cache, its ETag a hash of the bytes). A space stored
before maps were scheduled has none; its page offers a "Compute the map" button (a POST that
calls ``projection_schedule``).
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction

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
from curation.browse.tasks import projection_compute_task
from curation.models import EmbeddingSpace


def projection_status(space: EmbeddingSpace) -> str:
    """``"ready"``, ``"pending"`` (queued or being computed) or ``"missing"``; reads only."""
    projection = space.projection
    if projection_ready(projection):
        return "ready"
    if isinstance(projection, dict) and projection.get("pending"):
        return "pending"
    return "missing"


def projection_schedule(*, space: EmbeddingSpace) -> None:
    """Make sure ``space`` gets its map: computed now when small (``projections.inline_limit()``
    rows at most), else queued once (called by writers and by the page's POST, never on GET)."""
    if projection_status(space) != "missing":
        return
    if space.count <= projections.inline_limit():
        space.projection = projection_compute(space=space)
        return
    marked = EmbeddingSpace.objects.filter(pk=space.pk, projection__isnull=True).update(
        projection={"pending": True}
    )
    if marked:
        space.projection = {"pending": True}
        space_id = space.pk
        transaction.on_commit(lambda: projection_compute_task.enqueue(space_id))


def projection_binary(*, space: EmbeddingSpace) -> MapBinary | None:
    """The map's binary with its ETag, or None while there is no projection (see
    ``projection_status``). Built once per projection and cached: the ETag is a hash of the
    bytes, so a browser that has them gets 304 Not Modified. Writes nothing to the database."""
    found = projection_binary_cached(space=space)
    if found is not None:
        return found
    if "projection" in space.get_deferred_fields():
        space.refresh_from_db(fields=["projection"])
    projection = space.projection
    if not isinstance(projection, dict) or not projection_ready(projection):
        return None
    data = projection_encode(projection)
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    cache.set(binary_cache_key(space), (etag, data), BINARY_CACHE_SECONDS)
    return MapBinary(etag=etag, data=data)
