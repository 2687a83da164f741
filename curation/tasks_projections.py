"""Background task entry point for embedding maps (thin: calls the service)."""

from __future__ import annotations

from django.tasks import task

from curation.models import EmbeddingSpace
from curation.services.projections import projection_compute


@task
def projection_compute_task(space_id: int) -> None:
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is not None:
        projection_compute(space=space)
