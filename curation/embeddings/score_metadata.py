"""Typicality and similarity stored as numeric sample metadata, computed by a background job.

LightlyStudio's ``compute_typicality_metadata`` / ``compute_similarity_metadata``: the exact
values the selection engine uses for TYPICALITY and SIMILARITY (``curation.selection.
kernels_knn``: ``typ_i = mean_j exp(-d_ij / sigma)`` over the K nearest neighbours among every
sample of the embedding space; ``sim_i = exp(-d_i / mean d)`` with ``d_i`` the distance to the
nearest query vector), stored under a metadata key so ``metadata_weighting`` (WEIGHTS on
METADATA), THRESHOLD and the filter language (``min:KEY``) can use them.

``score_metadata_start`` checks everything it can at once (space, tag, name, K) and records a
queued ``Job`` of kind ``scores``; ``score_job_task`` runs ``score_job_execute`` on a worker
like an import: claimed, progress and heartbeats on the row, cancellable, and the values are
written in ONE transaction that also marks the job succeeded (all or nothing). Invariants: the
key is written for every sample of the space and removed from the dataset's other samples (no
stale value from an earlier computation survives); other metadata keys are untouched.

Heartbeats during the write: what the transaction writes is invisible until it commits, so a
long write would look dead to recovery (``jobs.recover``: no heartbeat for three intervals). A
thread with its own database connection (``WriteBeat``) writes the job's ``heartbeat_at`` and
the chunks written so far every half interval until the transaction ends. Not on SQLite: one
writer at a time (the thread would wait for the transaction) and one machine, where recovery
sees the worker's process alive by its pid.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from types import TracebackType
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.tasks import task
from django.utils import timezone

from curation.browse.facet_index import facet_index_prepare
from curation.datasets.services import dataset_refuse_if_deleting
from curation.jobs.finish import JobCancelled, JobLost, job_enqueue, job_finish, worker_name
from curation.jobs.heartbeat import worker_task_beat
from curation.models import Dataset, EmbeddingSpace, Job, Sample, Tag, TagSample
from curation.realtime.job_events import job_progress_push
from curation.selection.kernels_knn import min_query_distance, typicality_scores
from curation.storage.embeddings import embedding_space_load

logger = logging.getLogger(__name__)

Status = Job.Status
KINDS = ("typicality", "similarity")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
WRITE_CHUNK = 2000


class ScoreMetadataError(ValueError):
    """A computation that cannot start or finish; the message is one sentence (400)."""


# ----------------------------------------------------------------------------- start


def metadata_name_clean(name: str) -> str:
    if not NAME_PATTERN.match(name) or ".." in name or name.startswith("."):
        raise ScoreMetadataError(
            f"metadata_name {name!r} must be 1 to 100 letters, digits, '_', '-' or '.'."
        )
    if name.startswith("lightly."):
        raise ScoreMetadataError(
            f"metadata_name {name!r}: keys starting with 'lightly.' are reserved for the "
            "built-in metadata; choose another name."
        )
    return name


def space_for(dataset: Dataset, name: str | None) -> EmbeddingSpace:
    """The named embedding space, or the dataset's only one."""
    spaces = list(EmbeddingSpace.objects.filter(dataset=dataset).order_by("name"))
    known = ", ".join(s.name for s in spaces) or "none"
    if name is not None:
        for space in spaces:
            if space.name == name:
                return space
        raise ScoreMetadataError(
            f"Dataset {dataset.name!r} has no embedding space {name!r} (known: {known})."
        )
    if not spaces:
        raise ScoreMetadataError(f"Dataset {dataset.name!r} has no embeddings; add them first.")
    if len(spaces) > 1:
        raise ScoreMetadataError(
            f"Dataset {dataset.name!r} has several embedding spaces ({known}); name one in "
            "embedding_model_name."
        )
    return spaces[0]


def default_similarity_name(tag_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag_name).strip("._")[:80] or "query"
    return f"similarity_to_{slug}"


def score_metadata_start(
    *,
    dataset: Dataset,
    user: Any,
    kind: str,
    metadata_name: str | None = None,
    embedding_model_name: str | None = None,
    num_nearest_neighbors: int = 20,
    query_tag_name: str | None = None,
) -> tuple[Job, str]:
    """Check and record a queued scores job (enqueued on commit); returns it and the key."""
    dataset_refuse_if_deleting(dataset)
    if kind not in KINDS:
        raise ScoreMetadataError(f"kind must be typicality or similarity, not {kind!r}.")
    space = space_for(dataset, embedding_model_name)
    options: dict[str, Any] = {"kind": kind, "space_id": space.pk, "space": space.name}
    if kind == "typicality":
        if num_nearest_neighbors < 1:
            raise ScoreMetadataError("num_nearest_neighbors must be at least 1.")
        if space.count < 2:
            raise ScoreMetadataError(
                f"Typicality needs at least 2 samples with embeddings in {space.name!r}."
            )
        if metadata_name is None:
            raise ScoreMetadataError("metadata_name is required for typicality.")
        options["k"] = num_nearest_neighbors
    else:
        tag = Tag.objects.filter(dataset=dataset, name=query_tag_name or "").first()
        if tag is None:
            raise ScoreMetadataError(
                f"No tag named {query_tag_name!r} in dataset {dataset.name!r}: tag the query "
                "samples first."
            )
        if not TagSample.objects.filter(tag=tag).exists():
            raise ScoreMetadataError(f"The query tag {tag.name!r} has no samples.")
        options["tag_id"] = tag.pk
        options["tag"] = tag.name
        metadata_name = metadata_name or default_similarity_name(tag.name)
    options["metadata_name"] = metadata_name_clean(metadata_name)
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.SCORES,
            dataset=dataset,
            dataset_name=dataset.name,
            options=options,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        job_id = job.pk
        transaction.on_commit(lambda: job_enqueue(job_id=job_id, task=score_job_task))
    return job, options["metadata_name"]


# ----------------------------------------------------------------------------- values


def typicality_values(matrix: np.ndarray, k: int) -> np.ndarray:
    """The engine's TYPICALITY weights over every row (K capped at n-1)."""
    return typicality_scores(matrix, None, min(k, matrix.shape[0] - 1))


def similarity_values(matrix: np.ndarray, query_rows: np.ndarray) -> np.ndarray:
    """The engine's SIMILARITY weights: ``exp(-d / mean d)`` (1 when the mean is 0)."""
    queries = np.asarray(matrix[query_rows], dtype=np.float64)
    distances = min_query_distance(matrix, None, queries)
    mean = float(distances.mean())
    if mean == 0.0 or not math.isfinite(mean):
        return np.ones(len(distances), dtype=np.float64)
    return np.asarray(np.exp(-distances / mean), dtype=np.float64)


# ----------------------------------------------------------------------------- execute


@task()
def score_job_task(job_id: int) -> str:
    """Execute one scores job; returns its final status."""
    job = score_job_execute(job_id=job_id)
    return job.status if job is not None else "skipped"


def _progress(job: Job, stage: str, done: int, total: int) -> None:
    worker_task_beat()
    job.stage, job.done, job.total = stage, done, total
    job.progress = 0.5 * (stage == "writing") + 0.5 * (done / total if total else 0.0)
    updated = Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        stage=stage, done=done, total=total, progress=job.progress, heartbeat_at=timezone.now()
    )
    if not updated:
        raise JobLost()
    if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
        raise JobCancelled()
    job_progress_push(job)


def score_job_execute(*, job_id: int) -> Job | None:
    """Run a queued scores job to its end (None when it was no longer queued)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_id=worker_name()
    )
    if not claimed:
        return None
    job = Job.objects.select_related("dataset").get(pk=job_id)
    job_progress_push(job)
    name = str(job.options.get("metadata_name", ""))
    try:
        values, sample_ids = _compute(job)
        _write(job, name, sample_ids, values)
    except JobLost:
        logger.warning("Scores job %s was finished elsewhere while it ran", job_id)
    except JobCancelled:
        job_finish(job_id, Status.CANCELLED, message=f"Cancelled; {name!r} was not changed.")
    except ScoreMetadataError as exc:
        job_finish(job_id, Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("Scores job %s failed", job_id)
        job_finish(
            job_id,
            Status.FAILED,
            error=f"The computation stopped on an unexpected error ({type(exc).__name__}); "
            f"{name!r} was not changed. The worker log has the details.",
        )
        raise
    else:
        if job.dataset is not None:  # the new values, for the sidebar of every process
            facet_index_prepare(job.dataset)
    job.refresh_from_db()
    job_progress_push(job)
    return job


def _compute(job: Job) -> tuple[np.ndarray, np.ndarray]:
    options = job.options
    space = EmbeddingSpace.objects.filter(pk=options.get("space_id")).first()
    if job.dataset is None or space is None:
        raise ScoreMetadataError(
            f"The embedding space {options.get('space')!r} was deleted before the computation."
        )
    loaded = embedding_space_load(space)
    ids = np.asarray(loaded.sample_ids, dtype=np.int64)
    _progress(job, "computing", 0, len(ids))
    if options["kind"] == "typicality":
        values = typicality_values(loaded.matrix, int(options.get("k", 20)))
    else:
        members = TagSample.objects.filter(tag_id=options.get("tag_id")).values_list(
            "sample_id", flat=True
        )
        query_rows = np.flatnonzero(np.isin(ids, np.fromiter(members, dtype=np.int64)))
        if not len(query_rows):
            raise ScoreMetadataError(
                f"No sample of the query tag {options.get('tag')!r} has an embedding in "
                f"{space.name!r}."
            )
        values = similarity_values(loaded.matrix, query_rows)
    _progress(job, "computing", len(ids), len(ids))
    return values, ids


class WriteBeat:
    """``with WriteBeat(job, total) as beat: … beat.done = n``: the job's heartbeat and write
    progress from a thread with its own connection while the caller's transaction runs."""

    def __init__(self, job: Job, total: int) -> None:
        self.job_id = int(job.pk)
        self.total = total
        self.done = 0
        self.beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> WriteBeat:
        if connection.vendor != "sqlite":
            self._thread = threading.Thread(
                target=self._run, name=f"scores-job-{self.job_id}-beat", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        interval = max(0.05, settings.CURATION_WORKER_HEARTBEAT_SECONDS / 2)
        try:
            while not self._stop.wait(interval):
                done, total = self.done, self.total
                Job.objects.filter(pk=self.job_id, status=Status.RUNNING).update(
                    heartbeat_at=timezone.now(),
                    done=done,
                    total=total,
                    progress=0.5 + 0.5 * (done / total if total else 0.0),
                )
                self.beats += 1
        except Exception as exc:  # the transaction's own writes report a database away
            logger.warning("Scores job %s: heartbeat failed (%s)", self.job_id, type(exc).__name__)
        finally:
            connection.close()  # this thread's connection


def _write(job: Job, name: str, sample_ids: np.ndarray, values: np.ndarray) -> None:
    """Set ``name`` on every sample of the space, remove it elsewhere, and succeed: one
    transaction."""
    assert job.dataset is not None
    by_id = {int(i): float(v) for i, v in zip(sample_ids.tolist(), values.tolist(), strict=True)}
    ordered = sorted(by_id)
    _progress(job, "writing", 0, len(ordered))  # outside the transaction: others see it
    with WriteBeat(job, len(ordered)) as beat, transaction.atomic():
        for start in range(0, len(ordered), WRITE_CHUNK):
            chunk = ordered[start : start + WRITE_CHUNK]
            samples = list(Sample.objects.filter(pk__in=chunk).only("pk", "metadata"))
            for sample in samples:
                sample.metadata = {**(sample.metadata or {}), name: by_id[sample.pk]}
            Sample.objects.bulk_update(samples, ["metadata"], batch_size=1000)
            beat.done = start + len(chunk)
        stale = [
            Sample(pk=pk, metadata={k: v for k, v in metadata.items() if k != name})
            for pk, metadata in Sample.objects.filter(
                dataset=job.dataset, metadata__has_key=name
            ).values_list("pk", "metadata")
            if pk not in by_id
        ]
        Sample.objects.bulk_update(stale, ["metadata"], batch_size=1000)
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status != Status.RUNNING:
            raise JobLost()
        if locked.cancel_requested:
            raise JobCancelled()
        finished = timezone.now()
        summary = {"metadata_name": name, "samples": len(ordered), "removed": len(stale)}
        Job.objects.filter(pk=job.pk).update(
            status=Status.SUCCEEDED,
            stage="",
            progress=1.0,
            summary=summary,
            message=f"Stored {name!r} for {len(ordered)} samples.",
            finished_at=finished,
            heartbeat_at=finished,
        )
