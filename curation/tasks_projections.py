"""Background task entry point for embedding maps (thin: calls the service)."""

from __future__ import annotations

from django.tasks import task

from curation.browse.projections import projection_compute
from curation.models import EmbeddingSpace


@task
def projection_compute_task(space_id: int) -> None:
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is not None:
        projection_compute(space=space)
