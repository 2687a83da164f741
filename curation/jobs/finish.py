"""How a job ends: the final status, its message, and cleaning up after it (both kinds).

The bottom of the job machinery: start (``jobs.services``, ``datasets.delete``), execution
(``jobs.execute``, ``datasets.delete``) and recovery (``jobs.recover``) all end jobs through
:func:`job_finish`, so none of them imports another to do it, and :func:`job_enqueue` hands a
recorded job to its task (the caller names the task, so this module imports no task module).

Invariants:

- A job moves to a final status only from the status the caller expects (``expect``), in one
  conditional UPDATE: of two enders (the worker, a cancel, recovery) exactly one wins.
- What a job that did not succeed leaves is removed: an import's staging folder (or, when its
  worker died, settled by the rows: ``staging_settle``) and the dataset created for it while it
  has no samples; a delete job gives its dataset back while nothing was deleted yet
  (:func:`delete_job_settle`), else the dataset stays hidden until deleted again.
- Every message is one sentence a user can act on; the delete job's messages live here with the
  import's, so recovery words both kinds right (:func:`kind_message`).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from curation.datasets.services import dataset_delete
from curation.models import Dataset, EmbeddingSpace, Job, Sample
from curation.realtime.job_events import job_progress_push
from curation.storage.embeddings import dataset_embedding_dir
from curation.storage.staging import staging_settle

logger = logging.getLogger(__name__)

Status = Job.Status
ACTIVE = (Status.QUEUED, Status.RUNNING)

DEAD_WORKER_MESSAGE = (
    "The worker running this import stopped responding; nothing was imported. Start it again."
)
NEVER_QUEUED_MESSAGE = "This import never reached the task queue; nothing was imported."
DELETE_DEAD_WORKER_MESSAGE = (
    "The worker running this deletion stopped responding; the dataset stays hidden: delete it "
    "again to finish."
)
DELETE_NEVER_QUEUED_MESSAGE = (
    "This deletion never reached the task queue; the dataset was not changed."
)
_DELETE_MESSAGES = {
    "DEAD_WORKER_MESSAGE": DELETE_DEAD_WORKER_MESSAGE,
    "NEVER_QUEUED_MESSAGE": DELETE_NEVER_QUEUED_MESSAGE,
}


class JobError(ValueError):
    """A job request that cannot be carried out; the message is one sentence."""


class JobLost(Exception):
    """The job was finished elsewhere (recovered as failed, cancelled) while this worker ran it."""


class JobCancelled(Exception):
    """The job's cancel flag was seen between two steps."""


class _Enqueueable(Protocol):
    def enqueue(self, *args: Any, **kwargs: Any) -> Any: ...


def worker_name() -> str:
    """This process, as a job's ``worker_id`` (recovery checks it is still alive)."""
    return f"{socket.gethostname()[:150]}-{os.getpid()}"


def cancelled_before_start_message(who: str) -> str:
    """A delete job cancelled while queued."""
    return f"Cancelled by {who} before it started; the dataset was not changed."


def kind_message(job_id: int, import_message: str, name: str) -> str:
    """``import_message``, or the delete job's message of the same ``name``."""
    if Job.objects.filter(pk=job_id, kind=Job.Kind.DELETE).exists():
        return _DELETE_MESSAGES[name]
    return import_message


def job_enqueue(*, job_id: int, task: _Enqueueable) -> None:
    """Hand a recorded job to ``task`` (on commit); a queue that is away fails the job with a
    sentence instead of leaving it queued forever."""
    try:
        result = task.enqueue(job_id=job_id)
    except Exception:
        logger.exception("Could not enqueue job %s", job_id)
        error = kind_message(job_id, NEVER_QUEUED_MESSAGE, "NEVER_QUEUED_MESSAGE")
        job_finish(job_id, Status.FAILED, error=error, expect=Status.QUEUED)
        return
    Job.objects.filter(pk=job_id).update(task_id=str(result.id)[:64])


def job_finish(
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
        job_cleanup(job, settle=settle)
        job.refresh_from_db()
        job_progress_push(job)
    return bool(updated)


def job_cleanup(job: Job, *, settle: bool) -> None:
    """Remove what a job that did not succeed left: its staging folder (uploads, thumbnails)
    and a dataset created for it that still has no samples. ``settle``: the job's worker died,
    so whether it committed is decided by the rows (``staging_settle``). A delete job restores
    its dataset when nothing was deleted yet (:func:`delete_job_settle`)."""
    if job.kind == Job.Kind.DELETE:
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
    spaces = EmbeddingSpace.all_spaces.filter(dataset_id=dataset_id)  # object spaces too
    known = set(spaces.values_list("storage_key", flat=True))
    for path in folder.glob("*.npy"):
        if path.name.split(".", 1)[0] not in known:
            path.unlink(missing_ok=True)


def delete_job_settle(job: Job, *, worker_died: bool) -> None:
    """After a delete job ended without succeeding: a dataset nothing was deleted from is
    visible again, unless the worker died (state unknown to the user: it stays hidden until
    deleted again) or another delete job is under way."""
    dataset_id = job.options.get("dataset_id")
    if worker_died or job.summary.get("irreversible") or dataset_id is None:
        return
    others = Job.objects.filter(
        dataset_id=dataset_id, kind=Job.Kind.DELETE, status__in=ACTIVE
    ).exclude(pk=job.pk)
    if not others.exists():
        Dataset.objects.filter(pk=dataset_id).update(deleting=False)
