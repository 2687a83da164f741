"""Django Tasks entry points (thin: they call services).

Enqueued on commit by ``selection_run_start``; executed by ``manage.py db_worker`` processes or
the in-process worker of ``manage.py serve``.
"""

from __future__ import annotations

from django.tasks import task


@task()
def selection_run_task(run_id: int) -> str:
    """Execute one selection run; returns its final status (the run row holds the rest)."""
    from curation.runs.services import selection_run_execute

    run = selection_run_execute(run_id=run_id)
    return run.status if run is not None else "skipped"
