"""Durable background jobs (imports; dataset deletions in ``dataset_delete``), run exactly like
selection runs.

``import_job_start`` records a queued ``Job`` (its uploaded files saved into the job's staging
folder) and enqueues ``curation.tasks_imports.job_task`` once the row commits; a worker runs
``job_execute``: it claims the job, runs the import with throttled progress (stored and pushed
at most every 0.5 s, which also refreshes ``heartbeat_at`` and reads the cancel flag between
image chunks), and marks the job succeeded in the SAME transaction that writes the rows. Only
then are the staged thumbnails moved into place.

All or nothing, files included: a failed, cancelled or lost job leaves no rows, no thumbnails,
no uploaded files, and a dataset created for the job is deleted again. ``jobs_recover`` (in
``jobs_recover.py``) fails running jobs whose worker stopped beating (``WorkerHeartbeat``) and
settles their staging folders (``import_staging``), so a ``kill -9`` mid-import leaves nothing
behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from curation.access import can_delete_dataset, datasets_visible_to
from curation.datasets.services import DatasetError, dataset_delete, dataset_refuse_if_deleting
from curation.imports.services import (
    ImportSummary,
    IngestError,
    dataset_import,
    tables_analyze,
    written_models,
)
from curation.jobs.workers import worker_task_beat
from curation.models import Dataset, EmbeddingSpace, Job, Sample
from curation.realtime.job_events import job_progress_push
from curation.storage.embeddings import EmbeddingError, dataset_embedding_dir
from curation.storage.paths import UnsafePathError
from curation.storage.staging import (
    STAGING,
    job_staging_key,
    staging_commit,
    staging_create,
    staging_settle,
)

logger = logging.getLogger(__name__)

Status = Job.Status
PROGRESS_WRITE_SECONDS = 0.5
MEDIA_PREFIX = "media:"
IMPORT_OPTIONS = frozenset(
    {
        "images",
        "embeddings",
        "embedding_filenames",
        "embedding_name",
        "normalize_embeddings",
        "samples_from_embeddings",
        "metadata",
        "annotations",
        "predictions",
        "prediction_task",
        "coco_reference",
        "embed",
        "restrict_to_import_roots",
        "workers",
    }
)
DEAD_WORKER_MESSAGE = (
    "The worker running this import stopped responding; nothing was imported. Start it again."
)
NEVER_QUEUED_MESSAGE = "This import never reached the task queue; nothing was imported."
STAGE_SPAN = {"reading files": (0.0, 0.05), "images": (0.05, 0.9), "writing": (0.9, 0.99)}
USER_ERRORS = (IngestError, DatasetError, EmbeddingError, UnsafePathError)


class JobError(ValueError):
    """A job request that cannot be carried out; the message is one sentence."""


class _JobLost(Exception):
    """The job was finished elsewhere (recovered as failed, cancelled) while this worker ran it."""


class _JobCancelled(Exception):
    pass


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


def _local(value: Any) -> Any:
    if isinstance(value, list):
        return [_local(v) for v in value]
    if isinstance(value, str) and value.startswith(MEDIA_PREFIX):
        return str(Path(settings.MEDIA_ROOT) / value[len(MEDIA_PREFIX) :])
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
                transaction.on_commit(lambda: _enqueue(job_id))
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if execute == "inline":
        job_execute(job_id=job.pk)
        job.refresh_from_db()
    return job


def _enqueue(job_id: int) -> None:
    from curation.tasks_imports import job_task

    try:
        result = job_task.enqueue(job_id=job_id)
    except Exception:
        logger.exception("Could not enqueue job %s", job_id)
        error = kind_message(job_id, NEVER_QUEUED_MESSAGE, "NEVER_QUEUED_MESSAGE")
        _finish(job_id, Status.FAILED, error=error, expect=Status.QUEUED)
        return
    Job.objects.filter(pk=job_id).update(task_id=str(result.id)[:64])


# ----------------------------------------------------------------------------- execute


def _worker_name() -> str:
    return f"{socket.gethostname()[:150]}-{os.getpid()}"


class _Monitor:
    """Throttled progress writes + pushes, heartbeats and cancel polling for one running job."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.last_write = -1e9

    def progress(self, stage: str, done: int, total: int) -> None:
        worker_task_beat()  # the worker's own heartbeat, from the task's progress
        job = self.job
        changed = stage != job.stage
        job.stage, job.done, job.total = stage, done, total
        low, high = STAGE_SPAN.get(stage, (job.progress, job.progress))
        job.progress = low + (high - low) * (min(1.0, done / total) if total else 0.0)
        if changed or time.monotonic() - self.last_write >= PROGRESS_WRITE_SECONDS:
            self.write()

    def write(self) -> None:
        job = self.job
        now = timezone.now()
        fields = {"stage": job.stage, "done": job.done, "total": job.total}
        updated = Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            heartbeat_at=now, progress=job.progress, **fields
        )
        if not updated:
            raise _JobLost()
        self.last_write = time.monotonic()
        job.heartbeat_at = now
        if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise _JobCancelled()
        job_progress_push(job)


def _mark_succeeded(job: Job, summary: ImportSummary) -> None:
    """Inside the import's transaction: the job succeeds exactly when its rows commit."""
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.status != Status.RUNNING:
        raise _JobLost()
    if locked.cancel_requested:
        raise _JobCancelled()
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=Status.SUCCEEDED,
        stage="",
        progress=1.0,
        summary=import_summary_data(summary),
        message="\n".join(summary.lines()),
        finished_at=now,
        heartbeat_at=now,
    )


def job_execute(*, job_id: int) -> Job | None:
    """Run a queued job to its end. Returns None when it was no longer queued (cancelled before
    it started, or taken by another worker), else the finished job. A delete job runs
    ``dataset_delete.delete_job_execute``."""
    if Job.objects.filter(pk=job_id, kind=Job.Kind.DELETE).exists():
        from curation.datasets.delete import delete_job_execute

        return delete_job_execute(job_id=job_id)
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_id=_worker_name()
    )
    if not claimed:
        return None
    job = Job.objects.select_related("dataset", "created_by").get(pk=job_id)
    job_progress_push(job)
    monitor = _Monitor(job)
    staging = Path(settings.MEDIA_ROOT) / job.staging_dir
    try:
        if job.dataset is None:
            raise JobError("The dataset of this import was deleted before it started.")
        options = {k: _local(v) for k, v in job.options.items() if k in IMPORT_OPTIONS}
        if options.get("restrict_to_import_roots") and job.created_by is None:
            # Without its user the import would be judged against the staff-only settings roots.
            raise JobError(
                "The account that started this import was deleted; nothing was imported."
            )
        staging.mkdir(parents=True, exist_ok=True)
        summary = dataset_import(
            dataset=job.dataset,
            staging=staging,
            user=job.created_by,
            progress=monitor.progress,
            before_commit=lambda summary: _mark_succeeded(job, summary),
            **options,
        )
    except _JobLost:
        logger.warning("Job %s was finished elsewhere while it ran", job_id)
        _cleanup(job, settle=True)
    except _JobCancelled:
        what = f" after {job.done} of {job.total} images" if job.stage == "images" else ""
        _finish(job_id, Status.CANCELLED, message=f"Cancelled{what}; nothing was imported.")
    except KeyboardInterrupt:
        _finish(job_id, Status.CANCELLED, message="Interrupted; nothing was imported.")
        raise
    except (*USER_ERRORS, JobError) as exc:
        _finish(job_id, Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        _finish(
            job_id,
            Status.FAILED,
            error=f"The import stopped on an unexpected error ({type(exc).__name__}); nothing "
            "was imported. The worker log has the details.",
        )
        raise
    else:
        staging_commit(staging)  # the rows have committed: thumbnails into place
        job.refresh_from_db()
        job_progress_push(job)
        tables_analyze(written_models(summary))  # planner statistics; best effort
    job.refresh_from_db()
    return job


# ----------------------------------------------------------------------------- end, cancel


def _finish(
    job_id: int,
    status: str,
    *,
    message: str = "",
    error: str = "",
    expect: str = Status.RUNNING,
    settle: bool = False,
) -> bool:
    """Move a job from ``expect`` to a final ``status``, clean up after it and push it."""
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now()}
    if message:
        fields["message"] = message
    if error:
        fields["error"] = error
    updated = Job.objects.filter(pk=job_id, status=expect).update(**fields)
    if updated:
        job = Job.objects.select_related("dataset").get(pk=job_id)
        _cleanup(job, settle=settle)
        job.refresh_from_db()
        job_progress_push(job)
    return bool(updated)


def _cleanup(job: Job, *, settle: bool) -> None:
    """Remove what a job that did not succeed left: its staging folder (uploads, thumbnails)
    and a dataset created for it that still has no samples. ``settle``: the job's worker died,
    so whether it committed is decided by the rows (``staging_settle``). A delete job restores
    its dataset when nothing was deleted yet (``dataset_delete.delete_job_settle``)."""
    if job.kind == Job.Kind.DELETE:
        from curation.datasets.delete import delete_job_settle

        delete_job_settle(job, worker_died=settle)
        return
    if job.staging_dir:
        staging = Path(settings.MEDIA_ROOT) / job.staging_dir
        if settle:
            staging_settle(staging)
        else:
            shutil.rmtree(staging, ignore_errors=True)
    dataset = job.dataset
    if dataset is None:
        return
    if job.creates_dataset and not Sample.objects.filter(dataset=dataset).exists():
        dataset_delete(dataset=dataset)
    elif settle:
        _embedding_leftovers_remove(dataset.pk)


def _embedding_leftovers_remove(dataset_id: int) -> None:
    """Embedding files of a dead import: a key no row names (nothing else runs on the dataset)."""
    if Job.objects.filter(dataset_id=dataset_id, status=Status.RUNNING).exists():
        return
    folder = dataset_embedding_dir(dataset_id)
    if not folder.is_dir():
        return
    known = set(
        EmbeddingSpace.objects.filter(dataset_id=dataset_id).values_list("storage_key", flat=True)
    )
    for path in folder.glob("*.npy"):
        if path.name.split(".", 1)[0] not in known:
            path.unlink(missing_ok=True)


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
    message = f"Cancelled by {who} before it started; nothing was imported."
    if job.kind == Job.Kind.DELETE:
        from curation.datasets.delete import cancelled_before_start_message

        message = cancelled_before_start_message(who)
    if _finish(job.pk, Status.CANCELLED, message=message, expect=Status.QUEUED):
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


def kind_message(job_id: int, import_message: str, name: str) -> str:
    """``import_message``, or the delete job's message of the same ``name``."""
    if Job.objects.filter(pk=job_id, kind=Job.Kind.DELETE).exists():
        from curation.datasets import delete as dataset_delete

        return str(getattr(dataset_delete, name))
    return import_message


# ----------------------------------------------------------------------------- summaries


def import_summary_data(summary: ImportSummary) -> dict[str, Any]:
    """An import summary as JSON (the API's and the job row's ``summary``)."""
    return {
        "dataset": summary.dataset.pk,
        "images_added": summary.images_added,
        "images_skipped": summary.images_skipped,
        "images_failed": [list(pair) for pair in summary.images_failed],
        "samples_without_pixels": summary.samples_without_pixels,
        "metadata_rows": summary.metadata_rows,
        "embeddings": {name: list(shape) for name, shape in summary.embeddings.items()},
        "annotations": summary.annotations,
        "scores": summary.scores,
        "tags": summary.tags,
        "notes": summary.notes,
        "seconds": round(summary.seconds, 3),
    }
