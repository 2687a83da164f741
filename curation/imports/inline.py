"""Imports run in the calling process (``manage.py import_dataset``): still a job, still all or
nothing.

The dataset (when the import creates it) and a RUNNING ``Job`` row are written in one
transaction before any file is read; the job succeeds in the transaction that writes the rows.
So a CLI killed at any point leaves a running job that ``jobs_recover`` fails once the process
is gone — deleting the dataset it created and its staged thumbnails — and the import shows in
the admin and the API like any other, where it can also be cancelled.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from curation.datasets.services import dataset_create
from curation.imports.services import ImportSummary, dataset_import
from curation.jobs.execute import JobMonitor as _Monitor
from curation.jobs.execute import job_mark_succeeded as _mark_succeeded
from curation.jobs.finish import JobCancelled as _JobCancelled
from curation.jobs.finish import JobError
from curation.jobs.finish import JobLost as _JobLost
from curation.jobs.finish import job_finish as _finish
from curation.jobs.finish import worker_name as _worker_name
from curation.models import Dataset, Job

Progress = Any  # Callable[[str, int, int], None] | None


def dataset_import_inline(
    *, name: str, owner: Any, progress: Progress = None, **options: Any
) -> ImportSummary:
    """Import into the dataset ``name`` (created for ``owner`` if absent) in this process, as a
    job. Raises what the import raises (``IngestError`` …), or ``JobError`` when it was
    cancelled or failed elsewhere; either way nothing was written and a new dataset is gone."""
    now = timezone.now()
    with transaction.atomic():
        dataset = Dataset.objects.filter(name=name).first()
        created = dataset is None
        if dataset is None:
            dataset = dataset_create(name=name, owner=owner)
        job = Job.objects.create(
            kind=Job.Kind.IMPORT,
            dataset=dataset,
            dataset_name=dataset.name,
            creates_dataset=created,
            created_by=owner if getattr(owner, "is_authenticated", False) else None,
            status=Job.Status.RUNNING,
            stage="starting",
            options={"source": "command line"},
            worker_id=_worker_name(),
            started_at=now,
            heartbeat_at=now,
        )
    monitor = _Monitor(job)

    def report(stage: str, done: int, total: int) -> None:
        monitor.progress(stage, done, total)
        if progress is not None:
            progress(stage, done, total)

    try:
        summary = dataset_import(
            dataset=dataset,
            progress=report,
            before_commit=lambda result: _mark_succeeded(job, result),
            **options,
        )
    except _JobCancelled:
        _finish(job.pk, Job.Status.CANCELLED, message="Cancelled; nothing was imported.")
        raise JobError(f"The import was cancelled (job {job.pk}); nothing was imported.") from None
    except _JobLost:
        raise JobError(
            f"Job {job.pk} was ended elsewhere while it ran; nothing was imported."
        ) from None
    except KeyboardInterrupt:
        _finish(job.pk, Job.Status.CANCELLED, message="Interrupted; nothing was imported.")
        raise
    except BaseException as exc:
        _finish(job.pk, Job.Status.FAILED, error=str(exc) or type(exc).__name__)
        raise
    summary.created = created
    return summary
