"""Django Tasks entry points (thin: each calls one execute function; the row holds the rest).

Enqueued on commit by the start services (``runs.services``, ``jobs.services``); executed by
``manage.py db_worker`` processes or the in-process worker of
``manage.py serve``. This module imports only execute functions (never a start service), so
the start services can import it without an import cycle. A dataset deletion's task lives with
its start and execute code in ``datasets.delete`` (``dataset_delete_task``), the map's in
``browse.tasks``.
"""

from __future__ import annotations

from django.tasks import task

from curation.jobs.execute import job_execute
from curation.runs.execute import selection_run_execute


@task()
def selection_run_task(run_id: int) -> str:
    """Execute one selection run; returns its final status (the run row holds the rest)."""
    run = selection_run_execute(run_id=run_id)
    return run.status if run is not None else "skipped"


@task()
def job_task(job_id: int) -> str:
    """Execute one job (an import); returns its final status."""
    job = job_execute(job_id=job_id)
    return job.status if job is not None else "skipped"
