"""Executing an import job (in a worker's task, or inline): claim, import, succeed with the rows.

``job_execute`` claims the queued job, runs the import with throttled progress (stored and
pushed at most every 0.5 s, which also refreshes ``heartbeat_at`` and reads the cancel flag
between image chunks), and marks the job succeeded in the SAME transaction that writes the
rows. Only then are the staged thumbnails moved into place. A delete job is handed to
``datasets.delete.delete_job_execute``.

All or nothing, files included: a failed, cancelled or lost job leaves no rows, no thumbnails,
no uploaded files, and a dataset created for the job is deleted again (``jobs.finish``).
This module imports no task module and no start service: ``curation.tasks`` imports it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from curation.browse.facet_index import facet_index_prepare
from curation.datasets.delete import delete_job_execute
from curation.datasets.services import DatasetError
from curation.imports.services import (
    ImportSummary,
    IngestError,
    dataset_import,
    tables_analyze,
    written_models,
)
from curation.jobs.finish import (
    JobCancelled,
    JobError,
    JobLost,
    Status,
    job_cleanup,
    job_finish,
    worker_name,
)
from curation.jobs.heartbeat import worker_task_beat
from curation.models import Job
from curation.realtime.job_events import job_progress_push
from curation.storage.embeddings import EmbeddingError
from curation.storage.paths import UnsafePathError
from curation.storage.staging import staging_commit

logger = logging.getLogger(__name__)

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
        "object_embeddings",
        "object_ids",
        "object_coco",
        "object_task",
        "object_embedding_name",
        "restrict_to_import_roots",
        "video_every",
        "video_fps",
        "workers",
    }
)
STAGE_SPAN = {
    "reading files": (0.0, 0.05),
    "videos": (0.05, 0.5),  # decoding (frames decoded / estimated); then the images stage
    "images": (0.05, 0.9),
    "writing": (0.9, 0.99),
}
USER_ERRORS = (IngestError, DatasetError, EmbeddingError, UnsafePathError)


def job_option_local(value: Any) -> Any:
    if isinstance(value, list):
        return [job_option_local(v) for v in value]
    if isinstance(value, str) and value.startswith(MEDIA_PREFIX):
        return str(Path(settings.MEDIA_ROOT) / value[len(MEDIA_PREFIX) :])
    return value


class JobMonitor:
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
        share = low + (high - low) * (min(1.0, done / total) if total else 0.0)
        job.progress = max(job.progress or 0.0, share)  # never backwards (videos, then images)
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
            raise JobLost()
        self.last_write = time.monotonic()
        job.heartbeat_at = now
        if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise JobCancelled()
        job_progress_push(job)


def job_mark_succeeded(job: Job, summary: ImportSummary) -> None:
    """Inside the import's transaction: the job succeeds exactly when its rows commit."""
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.status != Status.RUNNING:
        raise JobLost()
    if locked.cancel_requested:
        raise JobCancelled()
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
        return delete_job_execute(job_id=job_id)
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_id=worker_name()
    )
    if not claimed:
        return None
    job = Job.objects.select_related("dataset", "created_by").get(pk=job_id)
    job_progress_push(job)
    monitor = JobMonitor(job)
    staging = Path(settings.MEDIA_ROOT) / job.staging_dir
    try:
        if job.dataset is None:
            raise JobError("The dataset of this import was deleted before it started.")
        options = {k: job_option_local(v) for k, v in job.options.items() if k in IMPORT_OPTIONS}
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
            before_commit=lambda summary: job_mark_succeeded(job, summary),
            **options,
        )
    except JobLost:
        logger.warning("Job %s was finished elsewhere while it ran", job_id)
        job_cleanup(job, settle=True)
    except JobCancelled:
        what = f" after {job.done} of {job.total} images" if job.stage == "images" else ""
        if job.stage == "videos":
            what = f" after decoding {job.done} of about {job.total} video frames"
        job_finish(job_id, Status.CANCELLED, message=f"Cancelled{what}; nothing was imported.")
    except KeyboardInterrupt:
        job_finish(job_id, Status.CANCELLED, message="Interrupted; nothing was imported.")
        raise
    except (*USER_ERRORS, JobError) as exc:
        job_finish(job_id, Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        job_finish(
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
        facet_index_prepare(job.dataset)  # the sidebar's columns for every process
    job.refresh_from_db()
    return job


# ----------------------------------------------------------------------------- summaries


def import_summary_data(summary: ImportSummary) -> dict[str, Any]:
    """An import summary as JSON (the API's and the job row's ``summary``)."""
    return {
        "dataset": summary.dataset.pk,
        "images_added": summary.images_added,
        "images_skipped": summary.images_skipped,
        "images_failed": [list(pair) for pair in summary.images_failed],
        "samples_without_pixels": summary.samples_without_pixels,
        "videos_added": summary.videos_added,
        "video_frames": summary.video_frames,
        "videos_skipped": summary.videos_skipped,
        "unsupported": summary.unsupported,
        "metadata_rows": summary.metadata_rows,
        "embeddings": {name: list(shape) for name, shape in summary.embeddings.items()},
        "object_embeddings": {
            name: list(shape) for name, shape in summary.object_embeddings.items()
        },
        "annotations": summary.annotations,
        "scores": summary.scores,
        "tags": summary.tags,
        "notes": summary.notes,
        "seconds": round(summary.seconds, 3),
    }
