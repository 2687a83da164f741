"""Background task entry point for jobs (imports) started from the web or the API (thin: calls
the service; the job row holds status, progress and the outcome)."""

from __future__ import annotations

from django.tasks import task


@task()
def job_task(job_id: int) -> str:
    """Execute one job; returns its final status."""
    from curation.jobs.services import job_execute

    job = job_execute(job_id=job_id)
    return job.status if job is not None else "skipped"
