"""Durable background jobs (imports; dataset deletions in ``datasets.delete``), run exactly like
selection runs: who sees a job, starting an import, cancelling a job.

``import_job_start`` records a queued ``Job`` (its uploaded files saved into the job's staging
folder) and enqueues ``curation.tasks.job_task`` once the row commits; a worker runs
``jobs.execute.job_execute`` (claim, import, succeed in the transaction that writes the rows).
Ending a job and cleaning up after it is ``jobs.finish``; ``jobs.recover.jobs_recover`` (run by
the worker loop, ``jobs.workers``) fails running jobs whose worker stopped beating and settles
their staging folders, so a ``kill -9`` mid-import leaves nothing behind.

Layering (no import cycle): ``jobs.finish`` <- ``jobs.execute`` <- ``curation.tasks`` <- this
module; the execute side never imports a start service.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from curation.access import can_delete_dataset, datasets_visible_to
from curation.datasets.services import dataset_refuse_if_deleting
from curation.jobs.execute import IMPORT_OPTIONS, MEDIA_PREFIX, import_summary_data, job_execute
from curation.jobs.finish import (
    DEAD_WORKER_MESSAGE,
    NEVER_QUEUED_MESSAGE,
    JobError,
    Status,
    job_enqueue,
    job_finish,
    job_words_message,
)
from curation.models import Dataset, Job
from curation.realtime.job_events import job_progress_push
from curation.storage.staging import STAGING, job_staging_key, staging_create
from curation.tasks import job_task

__all__ = [
    "DEAD_WORKER_MESSAGE",
    "NEVER_QUEUED_MESSAGE",
    "JobError",
    "Status",
    "import_job_start",
    "import_summary_data",
    "job_cancel",
    "job_execute",
    "job_get_for_user",
    "jobs_visible_to",
]


# ----------------------------------------------------------------------------- access


def jobs_visible_to(user: Any) -> QuerySet[Job]:
    """Jobs of datasets the user may see, plus the user's own (their dataset may be gone)."""
    if not getattr(user, "is_authenticated", False):
        return Job.objects.none()
    if user.is_staff:
        return Job.objects.all()
    datasets = datasets_visible_to(user, include_deleting=True)
    return Job.objects.filter(Q(dataset__in=datasets) | Q(created_by=user))


def job_get_for_user(user: Any, pk: Any) -> Job:
    try:
        return jobs_visible_to(user).select_related("dataset", "created_by").get(pk=pk)
    except (Job.DoesNotExist, ValueError, TypeError):
        raise Http404("No such job.") from None


# ----------------------------------------------------------------------------- start


def _portable(value: Any) -> Any:
    """Paths below MEDIA_ROOT stored as ``media:<relative>`` (web and worker machines may mount
    the shared storage at different places)."""
    if isinstance(value, list):
        return [_portable(v) for v in value]
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        media = str(settings.MEDIA_ROOT).rstrip("/") + "/"
        if value.startswith(media):
            return MEDIA_PREFIX + value[len(media) :]
    return value


def import_job_start(
    *,
    dataset: Dataset,
    user: Any,
    options: dict[str, Any] | None = None,
    save_files: Callable[[Path], dict[str, Any]] | None = None,
    creates_dataset: bool = False,
    execute: Literal["enqueue", "inline"] = "enqueue",
) -> Job:
    """Record a queued import job and run it in the background (or inline).

    ``save_files(staging)`` writes the request's uploaded files into the job's staging folder
    and returns the import options naming them. ``creates_dataset``: the dataset was created
    for this import and is deleted again if it fails.
    """
    options = dict(options or {})
    dataset_refuse_if_deleting(dataset)
    staging: Path | None = None
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=Job.Kind.IMPORT,
                dataset=dataset,
                dataset_name=dataset.name,
                creates_dataset=creates_dataset,
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
            key = job_staging_key(job.pk)
            staging = staging_create(key)
            if save_files is not None:
                options.update(save_files(staging))
            unknown = set(options) - IMPORT_OPTIONS
            if unknown:
                raise ValueError(f"Unknown import options: {sorted(unknown)}")
            job.options = {k: _portable(v) for k, v in options.items()}
            job.staging_dir = f"{STAGING}/{key}"
            job.save(update_fields=["options", "staging_dir"])
            if execute == "enqueue":
                job_id = job.pk
                transaction.on_commit(lambda: job_enqueue(job_id=job_id, task=job_task))
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if execute == "inline":
        job_execute(job_id=job.pk)
        job.refresh_from_db()
    return job


def job_cancel(*, job: Job, user: Any) -> Job:
    """Cancel a job: a queued one at once, a running one at its next progress step (its worker
    stops, writes nothing and removes its files). Raises ``JobError`` for a finished job."""
    if (
        job.kind == Job.Kind.DELETE
        and job.dataset is not None
        and job.created_by_id != getattr(user, "pk", None)
        and not can_delete_dataset(user, job.dataset)
    ):
        # Cancelling a deletion restores the dataset: only those who may delete it decide that.
        raise PermissionDenied(
            "Only the dataset's owner, staff or the person who started the deletion may cancel it."
        )
    who = getattr(user, "get_username", lambda: "")() or "someone"
    message = job_words_message(job, "cancelled_before_start", who=who)
    if job_finish(job.pk, Status.CANCELLED, message=message, expect=Status.QUEUED):
        job.refresh_from_db()
        return job
    flagged = Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    if not flagged:
        raise JobError(
            f"Job {job.pk} has already finished ({job.get_status_display().lower()}); "
            "there is nothing to cancel."
        )
    job_progress_push(job)
    return job
