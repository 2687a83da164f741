"""The embedding map's background task (queued by ``browse.maps.projection_schedule``).

It lives with the map rather than in ``curation/tasks.py``: imports schedule a map for every
space they store, and ``curation.tasks`` imports the job executor that runs those imports, so
the map's task must not sit behind it (that would be an import cycle).
"""

from __future__ import annotations

from django.tasks import task

from curation.browse.projections import projection_compute
from curation.models import EmbeddingSpace


@task()
def projection_compute_task(space_id: int) -> None:
    """Compute the 2D map of an embedding space (queued for spaces too large to map inline)."""
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is not None:
        projection_compute(space=space)
