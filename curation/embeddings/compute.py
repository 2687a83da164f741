"""Computing an embedding space with an ONNX model: a durable job like an import.

``embed_job_start`` checks what it can at once (space name, image folder, the model: a
registered ``EmbeddingModel`` the user may use, or server paths from staff and the command
line) and records a queued ``Job`` of kind ``embed``; ``embed_job_task`` runs
``embed_job_execute`` on a worker (or inline for ``manage.py embed``): claimed, the model loaded
and checked (``onnx_models``), every image of the dataset decoded, preprocessed and encoded a
batch at a time, with progress and heartbeats on the row (pushed over the websocket) and the
cancel flag read between batches.

All or nothing: the vectors are kept in memory until the end; then ONE transaction locks the
job, checks it is still running and not cancelled, stores the space (``embedding_space_store``:
files renamed into place, then the row; an existing space of that name is replaced) and marks
the job succeeded. A failed, cancelled or lost job leaves the space as it was. The map is
scheduled after the commit (``projection_schedule``). The job's message names the device
(CPU or GPU) the model ran on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
from django.db import transaction
from django.db.models import Q, QuerySet
from django.tasks import task
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from curation.browse.maps import projection_schedule
from curation.datasets.services import dataset_refuse_if_deleting
from curation.embeddings.onnx_models import (
    ImageEncoder,
    ModelError,
    device_label,
    onnx_models_load,
    preprocess_image,
)
from curation.jobs.finish import JobCancelled, JobLost, job_enqueue, job_finish, worker_name
from curation.jobs.heartbeat import worker_task_beat
from curation.models import Dataset, EmbeddingModel, EmbeddingSpace, Job, Sample
from curation.realtime.job_events import job_progress_push
from curation.storage.embeddings import EmbeddingError, embedding_space_store
from curation.storage.frames import sample_source_path
from curation.storage.paths import UnsafePathError, safe_join

logger = logging.getLogger(__name__)

Status = Job.Status
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
DEFAULT_BATCH = 32
MAX_BATCH = 1024
PROGRESS_SECONDS = 0.5
DECODE_THREADS = 4
Progress = Callable[[Job], None]


class EmbedError(ValueError):
    """An embedding computation that cannot start or finish; one sentence (400)."""


# ----------------------------------------------------------------------------- models


def embedding_models_for_user(user: Any) -> QuerySet[EmbeddingModel]:
    """Registered models ``user`` may use: staff all, others those of no team or of theirs."""
    if not getattr(user, "is_authenticated", False):
        return EmbeddingModel.objects.none()
    if user.is_staff:
        return EmbeddingModel.objects.all()
    return EmbeddingModel.objects.filter(
        Q(group__isnull=True) | Q(group__in=user.groups.all())
    ).distinct()


def embedding_model_get_for_user(user: Any, name: str) -> EmbeddingModel:
    found = embedding_models_for_user(user).filter(name=name).first()
    if found is None:
        known = ", ".join(embedding_models_for_user(user).values_list("name", flat=True))
        raise EmbedError(
            f"No embedding model named {name!r} (available: {known or 'none; ask an admin to '}"
            f"{'' if known else 'register one'})."
        )
    return found


# ----------------------------------------------------------------------------- start


def space_name_clean(name: str) -> str:
    if not NAME_PATTERN.match(name or "") or name.startswith("."):
        raise EmbedError(
            f"The space name {name!r} must be 1 to 100 letters, digits, '_', '-' or '.'."
        )
    return name


def embed_job_start(
    *,
    dataset: Dataset,
    user: Any,
    name: str,
    model: EmbeddingModel | None = None,
    image_model: str | Path | None = None,
    text_model: str | Path | None = None,
    tokenizer: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH,
    execute: Literal["enqueue", "inline"] = "enqueue",
    progress: Progress | None = None,
) -> Job:
    """Record a queued embed job and run it in the background (or inline, for the CLI).

    ``model``: a registered model (pages, API, client); ``image_model`` / ``text_model`` /
    ``tokenizer``: server paths, for staff and the command line only (callers check)."""
    dataset_refuse_if_deleting(dataset)
    space_name_clean(name)
    if not 1 <= batch_size <= MAX_BATCH:
        raise EmbedError(f"batch_size must be between 1 and {MAX_BATCH}, not {batch_size}.")
    if model is not None:
        image_model, text_model, tokenizer = model.image_model, model.text_model, model.tokenizer
    if not image_model:
        raise EmbedError("Name the model: a registered model's name, or an image model path.")
    if bool(text_model) != bool(tokenizer):
        raise EmbedError("A text model needs its tokenizer.json too (and the reverse).")
    for path in (image_model, text_model, tokenizer):
        if path and not Path(path).is_file():
            raise EmbedError(f"{path}: no such file on the server.")
    has_folder = bool(dataset.image_root) and Path(dataset.image_root).is_dir()
    if not has_folder and not Sample.objects.filter(dataset=dataset, video__isnull=False).exists():
        raise EmbedError(
            f"Dataset {dataset.name!r} has no image folder on the server, so its images cannot "
            "be embedded."
        )
    active = Job.objects.filter(
        dataset=dataset, kind=Job.Kind.EMBED, status__in=(Status.QUEUED, Status.RUNNING)
    ).filter(options__space=name)
    running = active.values_list("pk", flat=True).first()
    if running is not None:
        raise EmbedError(f"Job {running} is already computing the space {name!r}; wait for it.")
    options = {
        "space": name,
        "model": model.name if model is not None else Path(image_model).name,
        "image_model": str(image_model),
        "text_model": str(text_model or ""),
        "tokenizer": str(tokenizer or ""),
        "batch_size": int(batch_size),
    }
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.EMBED,
            dataset=dataset,
            dataset_name=dataset.name,
            options=options,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if execute == "enqueue":
            job_id = job.pk
            transaction.on_commit(lambda: job_enqueue(job_id=job_id, task=embed_job_task))
    if execute == "inline":
        embed_job_execute(job_id=job.pk, progress=progress)
        job.refresh_from_db()
    return job


# ----------------------------------------------------------------------------- execute


@task()
def embed_job_task(job_id: int) -> str:
    """Execute one embed job; returns its final status."""
    job = embed_job_execute(job_id=job_id)
    return job.status if job is not None else "skipped"


class _Reporter:
    """Throttled progress on the row (and the caller's callback); raises on cancel or loss."""

    def __init__(self, job: Job, progress: Progress | None) -> None:
        self.job, self.callback, self.last = job, progress, 0.0

    def __call__(self, stage: str, done: int, total: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        worker_task_beat()
        job = self.job
        job.stage, job.done, job.total = stage, done, total
        job.progress = 0.02 + 0.96 * (done / total if total else 0.0)
        updated = Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            stage=stage,
            done=done,
            total=total,
            progress=job.progress,
            message=job.message,
            heartbeat_at=timezone.now(),
        )
        if not updated:
            raise JobLost()
        if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise JobCancelled()
        job_progress_push(job)
        if self.callback is not None:
            self.callback(job)


def embed_job_execute(*, job_id: int, progress: Progress | None = None) -> Job | None:
    """Run a queued embed job to its end (None when it was no longer queued)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_id=worker_name()
    )
    if not claimed:
        return None
    job = Job.objects.select_related("dataset").get(pk=job_id)
    job_progress_push(job)
    name = str(job.options.get("space", ""))
    unchanged = f"the space {name!r} was not changed"
    try:
        _run(job, _Reporter(job, progress))
    except JobLost:
        logger.warning("Embed job %s was finished elsewhere while it ran", job_id)
    except JobCancelled:
        job_finish(job_id, Status.CANCELLED, message=f"Cancelled; {unchanged}.")
    except KeyboardInterrupt:  # Ctrl-C on manage.py embed: end the job, then stop
        job_finish(job_id, Status.CANCELLED, message=f"Interrupted; {unchanged}.")
        raise
    except (EmbedError, ModelError, EmbeddingError) as exc:
        job_finish(job_id, Status.FAILED, error=f"{str(exc).rstrip('.')}; {unchanged}.")
    except Exception as exc:
        logger.exception("Embed job %s failed", job_id)
        job_finish(
            job_id,
            Status.FAILED,
            error=f"The computation stopped on an unexpected error ({type(exc).__name__}); "
            f"{unchanged}. The worker log has the details.",
        )
        raise
    job.refresh_from_db()
    job_progress_push(job)
    if progress is not None:
        progress(job)
    return job


def _load_image(path: Path, file_name: str) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, UnidentifiedImageError, UnsafePathError, ValueError) as exc:
        raise EmbedError(f"The image {file_name!r} cannot be read ({type(exc).__name__})") from None


def sample_paths(dataset: Dataset, rows: list[tuple[str, bool]]) -> list[tuple[Path, str]]:
    """``(path, file name)`` of each ``(file name, is frame)``: images below the dataset's image
    folder, video frames in the frames store (``curation.storage.frames``)."""
    paths = []
    for file_name, is_frame in rows:
        try:
            path = sample_source_path(
                dataset_id=dataset.pk,
                image_root=dataset.image_root,
                file_name=file_name,
                is_frame=is_frame,
            )
        except UnsafePathError:
            raise EmbedError(f"The image {file_name!r} is not in its dataset's folder") from None
        paths.append((path, file_name))
    return paths


def folder_paths(root: str, file_names: list[str]) -> list[tuple[Path, str]]:
    """``(path, file name)`` of files below one folder (each through ``safe_join``)."""
    try:
        return [(safe_join(root, name), name) for name in file_names]
    except UnsafePathError:
        raise EmbedError("An image name leaves its folder") from None


def image_batches(
    encoder: ImageEncoder, paths: list[tuple[Path, str]], batch_size: int
) -> Iterator[np.ndarray]:
    """Preprocessed ``[B, 3, H, W]`` batches of the files, decoded by a few threads (Pillow
    releases the GIL while it decodes and resizes)."""

    def load(item: tuple[Path, str]) -> np.ndarray:
        return preprocess_image(_load_image(*item), encoder.preprocess)

    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        for start in range(0, len(paths), batch_size):
            yield np.stack(list(pool.map(load, paths[start : start + batch_size])))


def _run(job: Job, report: _Reporter) -> None:
    options = job.options
    dataset = job.dataset
    if dataset is None:
        raise EmbedError("The dataset was deleted before the computation")
    report("loading model", 0, 0, force=True)
    pair = onnx_models_load(
        image_model=options["image_model"],
        text_model=options.get("text_model") or None,
        tokenizer=options.get("tokenizer") or None,
    )
    encoder = pair.image
    notes = "; ".join(n for n in (*encoder.preprocess.notes, encoder.device_note) if n)
    job.message = f"Embedding with {options.get('model')} on {device_label(encoder.provider)}" + (
        f" ({notes})." if notes else "."
    )
    samples = Sample.objects.filter(dataset=dataset).order_by("pk")
    rows = list(samples.values_list("pk", "file_name", "video_id"))
    if not rows:
        raise EmbedError(f"Dataset {dataset.name!r} has no samples to embed")
    total = len(rows)
    report("embedding", 0, total, force=True)
    paths = sample_paths(dataset, [(name, video is not None) for _, name, video in rows])
    parts: list[np.ndarray] = []
    done = 0
    batch_size = int(options.get("batch_size", DEFAULT_BATCH))
    for pixels in image_batches(encoder, paths, batch_size):
        parts.append(encoder.encode(pixels))
        done += len(pixels)
        report("embedding", done, total)
    matrix = np.concatenate(parts)
    report("writing", total, total, force=True)
    source = {
        "kind": "onnx",
        "model": options.get("model", ""),
        "image_model": options["image_model"],
        "text_model": options.get("text_model", ""),
        "tokenizer": options.get("tokenizer", ""),
        "preprocess": encoder.preprocess.as_dict(),
        "device": device_label(encoder.provider),
        "device_note": encoder.device_note,
    }
    space = _store(job, matrix, np.asarray([row[0] for row in rows], dtype=np.int64), source)
    projection_schedule(space=space)


def _store(
    job: Job, matrix: np.ndarray, sample_ids: np.ndarray, source: dict[str, Any]
) -> EmbeddingSpace:
    """Store the space and succeed, in one transaction (the job is checked first)."""
    assert job.dataset is not None
    name = str(job.options["space"])
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status != Status.RUNNING:
            raise JobLost()
        if locked.cancel_requested:
            raise JobCancelled()
        space = embedding_space_store(
            dataset=job.dataset,
            name=name,
            matrix=matrix,
            sample_ids=sample_ids,
            normalize=bool(source["preprocess"]["normalize_output"]),
            source=source,
        )
        finished = timezone.now()
        summary = {
            "space": name,
            "samples": int(matrix.shape[0]),
            "dimension": int(matrix.shape[1]),
            "device": source["device"],
            "text_search": bool(source["text_model"]),
        }
        note = str(source["device_note"])
        if note:
            summary["device_note"] = note
        Job.objects.filter(pk=job.pk).update(
            status=Status.SUCCEEDED,
            stage="",
            done=int(matrix.shape[0]),
            progress=1.0,
            summary=summary,
            message=f"Stored {matrix.shape[0]} vectors of {matrix.shape[1]} dimensions in "
            f"{name!r} (computed on {source['device']})."
            + (f" {note[0].upper()}{note[1:]}." if note else ""),
            finished_at=finished,
            heartbeat_at=finished,
        )
    return space
