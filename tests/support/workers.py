"""Task workers run synchronously inside a test: django-tasks-db's own worker
(:func:`run_db_worker`) and the project's robust worker loop (:func:`run_worker_batch`). Both
process every task queued so far and return; neither sleeps or waits for new work."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker

from curation.jobs.workers import CurationWorker


def run_db_worker() -> None:
    """django-tasks-db's worker, synchronously: process every queued task, then return."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def run_worker_batch(worker_id: str = "fault-worker") -> CurationWorker:
    """The robust worker loop, synchronously: process every queued task, then return."""
    worker = CurationWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    worker.run()
    return worker
