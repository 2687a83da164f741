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
- Every message is one sentence a user can act on. What a job says when it did not run (its
  worker died, it never reached the queue, it was cancelled while queued) lives in ONE table
  keyed by job kind (:data:`JOB_WORDS`: import, delete, scores, embed), so enqueueing,
  cancelling and recovery word every kind right (:func:`kind_message`).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

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


@dataclass(frozen=True)
class JobWords:
    """What a job of one kind says when it ends without having run: its worker died, it never
    reached the queue, or it was cancelled while queued. ``{name}`` is the job's option
    ``name_option`` (quoted), ``{who}`` the user who cancelled."""

    dead_worker: str
    never_queued: str
    cancelled_before_start: str
    name_option: str = ""


# One row per job kind: every sentence a job says when it did not run lives here.
JOB_WORDS: dict[str, JobWords] = {
    Job.Kind.IMPORT: JobWords(
        dead_worker="The worker running this import stopped responding; nothing was imported. "
        "Start it again.",
        never_queued="This import never reached the task queue; nothing was imported.",
        cancelled_before_start="Cancelled by {who} before it started; nothing was imported.",
    ),
    Job.Kind.DELETE: JobWords(
        dead_worker="The worker running this deletion stopped responding; the dataset stays "
        "hidden: delete it again to finish.",
        never_queued="This deletion never reached the task queue; the dataset was not changed.",
        cancelled_before_start="Cancelled by {who} before it started; the dataset was not changed.",
    ),
    Job.Kind.SCORES: JobWords(
        dead_worker="The worker computing this score metadata stopped responding; the metadata "
        "{name} was not changed. Start it again.",
        never_queued="This score computation never reached the task queue; the metadata {name} "
        "was not changed.",
        cancelled_before_start="Cancelled by {who} before it started; the metadata {name} was "
        "not changed.",
        name_option="metadata_name",
    ),
    Job.Kind.EMBED: JobWords(
        dead_worker="The worker computing these embeddings stopped responding; the space {name} "
        "was not changed. Start it again.",
        never_queued="This embedding computation never reached the task queue; the space {name} "
        "was not changed.",
        cancelled_before_start="Cancelled by {who} before it started; the space {name} was not "
        "changed.",
        name_option="space",
    ),
}
# Any other kind (one added without its row): plain words that promise nothing.
FALLBACK_WORDS = JobWords(
    dead_worker="The worker running this job stopped responding; start it again.",
    never_queued="This job never reached the task queue; start it again.",
    cancelled_before_start="Cancelled by {who} before it started.",
)
JobEvent = Literal["dead_worker", "never_queued", "cancelled_before_start"]

DEAD_WORKER_MESSAGE = JOB_WORDS[Job.Kind.IMPORT].dead_worker
NEVER_QUEUED_MESSAGE = JOB_WORDS[Job.Kind.IMPORT].never_queued
DELETE_DEAD_WORKER_MESSAGE = JOB_WORDS[Job.Kind.DELETE].dead_worker
DELETE_NEVER_QUEUED_MESSAGE = JOB_WORDS[Job.Kind.DELETE].never_queued


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


def job_words_message(job: Job, event: JobEvent, *, who: str = "") -> str:
    """The sentence ``job`` says for ``event`` (its kind's row of :data:`JOB_WORDS`)."""
    words = JOB_WORDS.get(job.kind, FALLBACK_WORDS)
    template: str = getattr(words, event)
    name = str((job.options or {}).get(words.name_option, "")) if words.name_option else ""
    return template.format(who=who or "someone", name=repr(name))


def kind_message(job_id: int, event: JobEvent, *, who: str = "") -> str:
    """The sentence job ``job_id`` says for ``event`` (the import's when the row is gone)."""
    job = Job.objects.filter(pk=job_id).only("kind", "options").first()
    if job is None:
        job = Job(kind=Job.Kind.IMPORT)
    return job_words_message(job, event, who=who)


def cancelled_before_start_message(who: str) -> str:
    """A delete job cancelled while queued."""
    return job_words_message(Job(kind=Job.Kind.DELETE), "cancelled_before_start", who=who)


def job_enqueue(*, job_id: int, task: _Enqueueable) -> None:
    """Hand a recorded job to ``task`` (on commit); a queue that is away fails the job with a
    sentence instead of leaving it queued forever."""
    try:
        result = task.enqueue(job_id=job_id)
    except Exception:
        logger.exception("Could not enqueue job %s", job_id)
        error = kind_message(job_id, "never_queued")
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
