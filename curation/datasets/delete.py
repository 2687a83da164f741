"""Deleting a dataset as a background job (web, API, admin): the request returns at once.

``dataset_delete_start`` (the caller checked that the user may delete: owner or staff) marks the
dataset ``deleting`` — from then on it is left out of every list and ``get_dataset_for_user``
refuses it with one sentence — cancels its queued selection runs and imports (running ones are
asked to stop), records a queued ``Job`` of kind ``delete`` and enqueues it once that commits.
A second start while a delete job is queued or running returns that job.

``delete_job_execute`` (a worker, through ``dataset_delete_task`` or
``jobs.execute.job_execute``) waits until no run or import of the dataset is running, then
deletes the per-sample rows in batches of ``CURATION_DELETE_BATCH_SIZE`` sample ids (default
20,000): each batch is one transaction that removes every row pointing at those samples (tag
memberships, annotations, scores, any other per-sample table) and then the samples. After every
batch the progress (stage, done/total) is stored and pushed to ``/ws/jobs/<id>/`` and the cancel
flag is read. Then the dataset's folders (media, embedding matrices; checked paths, links never
followed) are removed, and the dataset row (tags, runs, embedding spaces, annotation tasks
cascade) is deleted in the transaction that marks the job succeeded. The job row stays (its
dataset becomes empty, ``dataset_name`` stays).

Cancel and failure: the first batch (or, for a dataset without samples, the file removal) is
the point of no return, recorded as ``summary["irreversible"]`` in the same transaction. A job
cancelled or failed before it restores the dataset unchanged (visible again). After it, the
dataset stays hidden — never half visible — and can be deleted again (the job page's "Delete
again", or the same request once more). A job whose worker died is failed by ``jobs_recover``
and the dataset stays hidden either way (``jobs.finish.delete_job_settle``).

While waiting for the dataset's runs and imports to stop, the job (running in a worker) runs
recovery itself every few seconds, so a dead run cannot block the deletion.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from django.conf import settings
from django.db import models, transaction
from django.tasks import task
from django.utils import timezone

from curation.datasets.services import _remove_folders, dataset_media_dir
from curation.jobs.finish import (
    ACTIVE,
    DELETE_DEAD_WORKER_MESSAGE,
    DELETE_NEVER_QUEUED_MESSAGE,
    JobCancelled,
    JobError,
    JobLost,
    cancelled_before_start_message,
    delete_job_settle,
    job_enqueue,
    job_finish,
    worker_name,
)
from curation.jobs.heartbeat import worker_task_beat
from curation.jobs.recover import jobs_recover
from curation.models import Dataset, Job, Sample, SelectionRun
from curation.realtime.job_events import job_progress_push
from curation.runs.execute import finish as run_finish
from curation.runs.recover import selection_runs_recover
from curation.storage.embeddings import dataset_embedding_dir
from curation.storage.frames import frames_root

__all__ = [
    "DEAD_WORKER_MESSAGE",
    "NEVER_QUEUED_MESSAGE",
    "cancelled_before_start_message",
    "dataset_delete_start",
    "dataset_delete_task",
    "delete_job_execute",
    "delete_job_settle",
]

logger = logging.getLogger(__name__)

Status = Job.Status
DEFAULT_BATCH_SIZE = 20_000
DEFAULT_WAIT_SECONDS = 600
WAIT_POLL_SECONDS = 0.5
STAGE_WAIT = "waiting for runs and imports to stop"
STAGE_SAMPLES = "deleting samples"
STAGE_FILES = "removing files"
STAGE_DATASET = "deleting the dataset"
DEAD_WORKER_MESSAGE = DELETE_DEAD_WORKER_MESSAGE  # the sentences live in ``jobs.finish``
NEVER_QUEUED_MESSAGE = DELETE_NEVER_QUEUED_MESSAGE


@task()
def dataset_delete_task(job_id: int) -> str:
    """The delete job's task entry point (here, not in ``curation.tasks``: this module starts
    the job too, and ``curation.tasks`` imports the execute side, so a task module importing
    this one would be a cycle). Returns the job's final status."""
    job = delete_job_execute(job_id=job_id)
    return job.status if job is not None else "skipped"


# ----------------------------------------------------------------------------- start


def dataset_delete_start(
    *, dataset: Dataset, user: Any, execute: Literal["enqueue", "inline"] = "enqueue"
) -> Job:
    """Hide the dataset, stop its queued work and start (or return the running) delete job."""
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        if locked is None:
            raise JobError(f"Dataset {dataset.name!r} was already deleted.")
        active = Job.objects.filter(dataset=locked, kind=Job.Kind.DELETE, status__in=ACTIVE)
        job = active.order_by("-pk").first()
        if job is not None:
            return job
        Dataset.objects.filter(pk=locked.pk).update(deleting=True)
        dataset.deleting = True
        job = Job.objects.create(
            kind=Job.Kind.DELETE,
            dataset=locked,
            dataset_name=locked.name,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            options={"dataset_id": locked.pk},
        )
        _stop_dataset_work(locked.pk, locked.name)
        if execute == "enqueue":
            job_id = job.pk
            transaction.on_commit(lambda: job_enqueue(job_id=job_id, task=dataset_delete_task))
    if execute == "inline":
        delete_job_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def _stop_dataset_work(dataset_id: int, name: str) -> int:
    """Cancel the dataset's queued runs and imports, ask running ones to stop; returns how many
    still run."""
    reason = f"Cancelled: dataset {name!r} is being deleted"
    runs = SelectionRun.objects.filter(dataset_id=dataset_id)
    for pk in runs.filter(status=SelectionRun.Status.QUEUED).values_list("pk", flat=True):
        run_finish(
            pk,
            SelectionRun.Status.CANCELLED,
            message=f"{reason}; no tag was written.",
            expect=SelectionRun.Status.QUEUED,
        )
    imports = Job.objects.filter(dataset_id=dataset_id, kind=Job.Kind.IMPORT)
    for pk in imports.filter(status=Status.QUEUED).values_list("pk", flat=True):
        message = f"{reason}; nothing was imported."
        job_finish(pk, Status.CANCELLED, message=message, expect=Status.QUEUED)
    running_runs = runs.filter(status=SelectionRun.Status.RUNNING)
    running_imports = imports.filter(status=Status.RUNNING)
    running_runs.filter(cancel_requested=False).update(cancel_requested=True)
    running_imports.filter(cancel_requested=False).update(cancel_requested=True)
    return running_runs.count() + running_imports.count()


# ----------------------------------------------------------------------------- execute


class _Progress:
    """Progress rows and pushes after every step; heartbeats; the cancel flag between steps."""

    SPAN = {
        STAGE_WAIT: (0.0, 0.02),
        STAGE_SAMPLES: (0.02, 0.95),
        STAGE_FILES: (0.95, 0.98),
        STAGE_DATASET: (0.98, 1.0),
    }

    def __init__(self, job: Job) -> None:
        self.job = job

    def __call__(self, stage: str, done: int, total: int) -> None:
        worker_task_beat()
        job = self.job
        low, high = self.SPAN[stage]
        job.stage, job.done, job.total = stage, done, total
        job.progress = low + (high - low) * (min(1.0, done / total) if total else 0.0)
        now = timezone.now()
        updated = Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            stage=stage, done=done, total=total, progress=job.progress, heartbeat_at=now
        )
        if not updated:
            raise JobLost()
        job.heartbeat_at = now
        if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise JobCancelled()
        job_progress_push(job)


def delete_job_execute(*, job_id: int) -> Job | None:
    """Run a queued delete job to its end (None when it was no longer queued)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Status.QUEUED, kind=Job.Kind.DELETE).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_id=worker_name()
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    job_progress_push(job)
    progress = _Progress(job)
    started = time.monotonic()
    try:
        _run(job, progress, started)
    except JobLost:
        logger.warning("Delete job %s was finished elsewhere while it ran", job_id)
    except JobCancelled:
        job_finish(job_id, Status.CANCELLED, message=_cancel_message(job_id))
    except KeyboardInterrupt:
        job_finish(job_id, Status.CANCELLED, message=_cancel_message(job_id, "Interrupted"))
        raise
    except JobError as exc:
        job_finish(job_id, Status.FAILED, error=f"{exc} {_state_sentence(job_id)}")
    except Exception as exc:
        logger.exception("Delete job %s failed", job_id)
        job_finish(
            job_id,
            Status.FAILED,
            error=f"The deletion stopped on an unexpected error ({type(exc).__name__}). "
            f"{_state_sentence(job_id)} The worker log has the details.",
        )
        raise
    job.refresh_from_db()
    return job


def _run(job: Job, progress: _Progress, started: float) -> None:
    dataset_id = int(job.options["dataset_id"])
    name = job.dataset_name
    _wait_for_dataset_work(dataset_id, name, progress)
    total = Sample.objects.filter(dataset_id=dataset_id).count()
    done = 0
    batch_size = max(1, int(getattr(settings, "CURATION_DELETE_BATCH_SIZE", DEFAULT_BATCH_SIZE)))
    progress(STAGE_SAMPLES, 0, total)
    while True:
        deleted = _delete_batch(job, dataset_id, batch_size, done)
        if not deleted:
            break
        done += deleted
        progress(STAGE_SAMPLES, done, max(total, done))
    _mark_irreversible(job, done)
    progress(STAGE_FILES, 0, 0)
    folders = [dataset_embedding_dir(dataset_id), dataset_media_dir(dataset_id)]
    folders.append(frames_root(dataset_id))  # its videos' frames
    _remove_folders(folders)
    progress(STAGE_DATASET, 0, 0)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status != Status.RUNNING:
            raise JobLost()
        if locked.cancel_requested:
            raise JobCancelled()
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        tags = runs = 0
        if dataset is not None:
            tags, runs = dataset.tags.count(), dataset.selection_runs.count()
            dataset.delete()  # tags, runs, embedding spaces, tasks; this job keeps its row
        message = (
            f"Deleted dataset {name!r}: {done} samples, {tags} tags, {runs} selection runs "
            "and its files."
            if dataset is not None or done
            else f"Dataset {name!r} was already deleted; its files are removed."
        )
        now = timezone.now()
        Job.objects.filter(pk=job.pk).update(
            status=Status.SUCCEEDED,
            stage="",
            progress=1.0,
            done=done,
            total=max(total, done),
            message=message,
            summary={
                "dataset": dataset_id,
                "samples": done,
                "tags": tags,
                "runs": runs,
                "irreversible": True,
                "seconds": round(time.monotonic() - started, 3),
            },
            finished_at=now,
            heartbeat_at=now,
        )
        transaction.on_commit(lambda: _remove_folders(folders))  # anything written meanwhile
    job.refresh_from_db()
    job_progress_push(job)


def _wait_for_dataset_work(dataset_id: int, name: str, progress: _Progress) -> None:
    """Stop queued work of the dataset (again: a run may have been queued meanwhile) and wait
    until running runs and imports have stopped (or are recovered as dead)."""
    limit = float(getattr(settings, "CURATION_DELETE_WAIT_SECONDS", DEFAULT_WAIT_SECONDS))
    deadline = time.monotonic() + limit
    last_recover = time.monotonic()
    while running := _stop_dataset_work(dataset_id, name):
        progress(STAGE_WAIT, 0, running)
        if time.monotonic() > deadline:
            raise JobError(
                f"{running} selection runs or imports of dataset {name!r} did not stop within "
                f"{limit:.0f} seconds; cancel them and delete the dataset again."
            )
        time.sleep(WAIT_POLL_SECONDS)
        if time.monotonic() - last_recover > 5:
            selection_runs_recover()
            jobs_recover()
            last_recover = time.monotonic()


def _per_sample_relations() -> list[tuple[type[models.Model], str, Any]]:
    """(model, field name, on_delete) of every table whose rows point at a sample."""
    relations = []
    for rel in Sample._meta.related_objects:
        if rel.many_to_many or rel.related_model is Sample:
            continue
        relations.append((rel.related_model, rel.field.name, rel.on_delete))
    return relations


def _delete_batch(job: Job, dataset_id: int, batch_size: int, done: int) -> int:
    """Delete the dataset's ``batch_size`` lowest sample ids and every row pointing at them, in
    one transaction that also records the job's progress; returns how many samples went."""
    ids = Sample.objects.filter(dataset_id=dataset_id).order_by("pk").values_list("pk", flat=True)
    low = ids.first()
    if low is None:
        return 0
    high = next(iter(ids[batch_size - 1 : batch_size]), None) or ids.last()
    samples = Sample.objects.filter(dataset_id=dataset_id, pk__gte=low, pk__lte=high)
    chosen = samples.values("pk")
    with transaction.atomic():
        for model, field, on_delete in _per_sample_relations():
            rows = model._base_manager.filter(
                **{f"{field}__gte": low, f"{field}__lte": high, f"{field}__in": chosen}
            )
            if on_delete is models.SET_NULL:
                rows.update(**{field: None})
            else:
                rows._raw_delete(rows.db)
        deleted = int(samples._raw_delete(samples.db) or 0)
        _mark_irreversible(job, done + deleted)
    return deleted


def _mark_irreversible(job: Job, deleted: int) -> None:
    """Record (in the caller's transaction) that rows or files of the dataset are going."""
    summary = {**job.summary, "irreversible": True, "samples": deleted}
    if not Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(summary=summary):
        raise JobLost()
    job.summary = summary


# ----------------------------------------------------------------------------- end


def _cancel_message(job_id: int, what: str = "Cancelled") -> str:
    job = Job.objects.get(pk=job_id)
    if not job.summary.get("irreversible"):
        return f"{what} before anything was deleted; dataset {job.dataset_name!r} is back."
    return (
        f"{what} after deleting {job.summary.get('samples', 0)} of {job.total} samples; "
        f"dataset {job.dataset_name!r} stays hidden: delete it again to finish."
    )


def _state_sentence(job_id: int) -> str:
    job = Job.objects.get(pk=job_id)
    if job.summary.get("irreversible"):
        return "The dataset stays hidden: delete it again to finish."
    return "Nothing was deleted."
