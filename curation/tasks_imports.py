"""Background task entry point for imports started from the web (thin: calls the service)."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from curation.services.dataset_uploads import dataset_import_run


@task
def dataset_import_task(dataset_id: int, options: dict[str, Any], user_id: int | None) -> None:
    dataset_import_run(dataset_id=dataset_id, options=options, user_id=user_id)
