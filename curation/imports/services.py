"""Import a dataset in one call: images, embeddings, metadata, annotations and predictions.

All or nothing: every file is parsed and checked first (names, dimensions, finite values,
duplicates, categories), the images are decoded in worker processes, and only then is everything
written in one transaction. When anything fails, nothing is written: no rows, and the new
thumbnails and embedding files are removed again. The one exception class is ``IngestError``
(a ``ValueError`` whose message names the file, line and column where it can).

Side files are read by ``curation.formats`` (pure parsing), images by ``imports.images``; the
bulk writes live in ``imports.write`` (with ``imports.samples``, ``imports.annotations`` and
``imports.embeddings``). After the write commits, the tables it wrote are ``ANALYZE``d on
PostgreSQL (``tables_analyze``, best effort).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.db import DatabaseError, connection, models, transaction

from curation.browse.facet_index import facet_index_prepare
from curation.browse.maps import projection_schedule
from curation.datasets.services import dataset_create, dataset_delete, dataset_refuse_if_deleting
from curation.formats.annotations import read_annotation_source
from curation.formats.embeddings import read_embeddings
from curation.formats.metadata import read_metadata
from curation.formats.names import check_file_name
from curation.formats.records import IngestError, TaskImport
from curation.formats.video import frame_rate_check
from curation.imports.annotations import labels_task, task_names_check
from curation.imports.common import resolve_import_path
from curation.imports.embeddings import BUILTIN_SPACE, check_embedding_compatible
from curation.imports.images import run_image_jobs, scan_image_folder
from curation.imports.objects import object_import_read
from curation.imports.pixel_metadata import BUILTIN_KEYS
from curation.imports.summary import ImportSummary
from curation.imports.videos import (
    DecodedVideo,
    frame_image_jobs,
    frames_metadata,
    videos_decode,
    videos_write,
)
from curation.imports.write import validate_and_write
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    Sample,
    Score,
    TagSample,
)
from curation.storage.embeddings import embedding_paths
from curation.storage.paths import UnsafePathError, safe_join
from curation.storage.roots import import_roots_for_user
from curation.storage.staging import (
    process_staging_key,
    staging_commit,
    staging_create,
    staging_discard_media,
)
from curation.storage.thumbnails import ImageJob, thumbnail_relpath

__all__ = ["ImportSummary", "IngestError", "dataset_import", "dataset_import_by_name"]

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
EMBED_CHOICES = ("auto", "always", "never")


def dataset_import_by_name(*, name: str, owner: Any, **options: Any) -> ImportSummary:
    """Import into the dataset ``name``, creating it for ``owner`` first if absent (and removing
    it again if the import fails)."""
    dataset = Dataset.objects.filter(name=name).first()
    created = dataset is None
    if dataset is None:
        dataset = dataset_create(name=name, owner=owner)
    try:
        summary = dataset_import(dataset=dataset, **options)
    except BaseException:
        if created:
            dataset_delete(dataset=dataset)
        raise
    summary.created = created
    return summary


def dataset_import(*, staging: Path | None = None, **options: Any) -> ImportSummary:
    """Import files into a dataset (the arguments of ``_dataset_import``), all or nothing.

    Thumbnails are written to a staging folder and moved into place only after the rows are
    written (``import_staging``). ``staging``: the caller's staging folder (a job's), which the
    caller commits once its own transaction has committed; without it the import uses a folder
    of its own and commits it itself. On failure the staged thumbnails are removed.
    """
    own = staging is None
    folder = staging_create(process_staging_key()) if staging is None else staging
    try:
        summary = _dataset_import(staging=folder, **options)
    except BaseException:
        if own:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            staging_discard_media(folder)
        raise
    if own:  # a job's caller commits its staging and then analyzes (``jobs.job_execute``)
        staging_commit(folder)
        tables_analyze(written_models(summary))  # outside the write transaction, best effort
        facet_index_prepare(options["dataset"])  # the sidebar's columns for every process
    return summary


def written_models(summary: ImportSummary) -> list[type[models.Model]]:
    """The per-sample tables an import wrote rows to."""
    written: list[type[models.Model]] = []
    if (
        summary.images_added
        or summary.images_updated
        or summary.samples_without_pixels
        or summary.metadata_rows
    ):
        written.append(Sample)
    if summary.annotations:
        written.append(Annotation)
    if summary.scores:
        written.append(Score)
    if summary.tags:
        written.append(TagSample)
    return written


def tables_analyze(tables: Sequence[type[models.Model]]) -> list[str]:
    """Refresh PostgreSQL's planner statistics of these tables (``ANALYZE``), so pages are fast
    right after a large import. Best effort: a failure is logged, never raised. A no-op on
    other databases (SQLite keeps no such statistics unless asked). Returns the tables done."""
    if connection.vendor != "postgresql":
        return []
    done = []
    for model in tables:
        table = model._meta.db_table
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        except DatabaseError:
            logger.warning("ANALYZE of %s failed after an import", table, exc_info=True)
        else:
            done.append(table)
    return done


def _dataset_import(
    *,
    staging: Path,
    dataset: Dataset,
    images: str | Path | None = None,
    embeddings: str | Path | None = None,
    embedding_filenames: str | Path | None = None,
    embedding_name: str = "default",
    normalize_embeddings: bool = True,
    samples_from_embeddings: bool = False,
    metadata: str | Path | None = None,
    annotations: str | Path | None = None,
    predictions: Sequence[str | Path] = (),
    prediction_task: str | None = None,
    coco_reference: str | Path | None = None,
    embed: str = "auto",
    object_embeddings: str | Path | None = None,
    object_ids: str | Path | None = None,
    object_coco: str | Path | None = None,
    object_task: str | None = None,
    object_embedding_name: str | None = None,
    restrict_to_import_roots: bool = False,
    video_every: int | None = None,
    video_fps: float | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    user: Any = None,
    before_commit: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Import files into ``dataset``; see the module docstring and the README for formats.

    ``restrict_to_import_roots``: set for imports started from the web or the API; every path
    must then lie below an import root ``user`` may use (``import_roots_for_user``; without a
    user, ``CURATION_IMPORT_ROOTS``) and stay inside that root once ``..`` and symlinks are
    resolved. Every file name read from a file is checked (``check_file_name``) either way.
    ``samples_from_embeddings``: names in the embeddings file that match no image become samples
    without pixels (no thumbnail, no built-in metadata); otherwise they are an error.
    ``embed``: the built-in descriptor embedding ("builtin" space) — ``auto`` computes it when
    images are added and the dataset has no other embedding space and none is given.
    ``object_embeddings`` (with ``object_ids``, ``object_coco``, ``object_task``,
    ``object_embedding_name``; normalised unless ``normalize_embeddings`` is off): vectors of
    the boxes of ``object_task``, resolved and stored after the annotations are written, in the
    same transaction (``imports.objects``). ``object_coco`` defaults to a COCO ``annotations``.
    Videos in ``images`` (``imports.videos``): every ``video_every``-th frame or ``video_fps``
    frames per second (default 1 per second) become samples.
    """
    started = time.monotonic()
    dataset_refuse_if_deleting(dataset)
    if embed not in EMBED_CHOICES:
        raise IngestError(f"embed must be one of {', '.join(EMBED_CHOICES)}, not {embed!r}.")
    rate = frame_rate_check(video_every, video_fps)
    summary = ImportSummary(dataset=dataset)
    if progress:
        progress("reading files", 0, 0)
    roots = None
    if restrict_to_import_roots and user is not None:
        roots = import_roots_for_user(user)

    def resolve(path: str | Path | None) -> Path | None:
        if path is None or str(path) == "":
            return None
        return resolve_import_path(
            path, restrict_to_import_roots=restrict_to_import_roots, roots=roots
        )

    image_root = resolve(images)
    if image_root is not None and not image_root.is_dir():
        raise IngestError(f"{images} is not a folder: --images takes the folder of the images.")
    if image_root is not None and dataset.image_root and Path(dataset.image_root) != image_root:
        raise IngestError(
            f"Dataset {dataset.name} reads its images from {dataset.image_root}: import from that "
            "folder again or create another dataset."
        )

    # 1. Parse every side file first, so a typo fails before the slow pixel work.
    embedding_file = None
    if (embeddings_path := resolve(embeddings)) is not None:
        embedding_file = read_embeddings(embeddings_path, resolve(embedding_filenames))
        check_embedding_compatible(
            dataset,
            embedding_name,
            embedding_file.matrix.shape[1],
            normalize_embeddings,
            embedding_file.source,
        )
    metadata_file = (
        read_metadata(p, reserved_keys=BUILTIN_KEYS)
        if (p := resolve(metadata)) is not None
        else None
    )
    if metadata_file is not None:
        for name, _, line in metadata_file.rows:
            check_file_name(name, f"Line {line} of {metadata_file.source}")
    tasks: list[TaskImport] = []
    annotations_path = resolve(annotations)
    if annotations_path is not None:
        tasks += read_annotation_source(
            annotations_path, task_name=AnnotationTask.GROUND_TRUTH, is_prediction=False
        )
    coco_annotations = (
        annotations_path if annotations_path and annotations_path.suffix == ".json" else None
    )
    reference = resolve(coco_reference) or coco_annotations
    for prediction in predictions:
        path = resolve(prediction)
        assert path is not None
        tasks += read_annotation_source(
            path,
            task_name=prediction_task or path.stem,
            is_prediction=True,
            coco_reference=reference,
        )
    if embedding_file is not None and (from_labels := labels_task(embedding_file, summary)):
        tasks.append(from_labels)
    task_names_check(tasks)
    object_import = None
    if (objects_path := resolve(object_embeddings)) is not None:
        object_import = object_import_read(
            dataset=dataset,
            path=objects_path,
            task_name=object_task,
            keys_path=resolve(object_ids),
            coco_path=resolve(object_coco)
            or (coco_annotations if object_task == AnnotationTask.GROUND_TRUTH else None),
            name=object_embedding_name,
            normalize=normalize_embeddings,
            incoming_tasks=[task.name for task in tasks],
        )
    for task in tasks:
        for name in task.by_name:
            described = task.described.get(name)
            where = f"{described[:1].upper()}{described[1:]} of " if described else ""
            check_file_name(name, where + task.source)

    summary.phases["read files"] = time.monotonic() - started

    # 2. The images: new files get pixels, metadata and a thumbnail (in worker processes).
    existing = {
        name: (pk, width, height)
        for name, pk, width, height in Sample.objects.filter(dataset=dataset).values_list(
            "file_name", "id", "width", "height"
        )
    }
    thumbnails: list[Path] = []
    processed: dict[str, dict[str, Any]] = {}
    descriptors: dict[str, np.ndarray] = {}
    videos: list[DecodedVideo] = []
    if image_root is not None:
        scan = scan_image_folder(image_root)
        if not (scan.files or scan.videos or scan.refused):
            raise IngestError(
                f"{images} contains no images or videos: put image files (.jpg, .png, ...) "
                "or videos (.mp4, .mov, .mkv, .avi, .webm) in it."
            )
        summary.images_failed += scan.refused
        summary.unsupported = scan.unsupported
        todo = [n for n in scan.files if n not in existing or existing[n][1] is None]
        summary.images_skipped = len(scan.files) - len(todo)
        known_videos = set(dataset.videos.values_list("name", flat=True))
        new_videos = [n for n in scan.videos if n not in known_videos]
        summary.videos_skipped = len(scan.videos) - len(new_videos)
        videos = videos_decode(
            root=image_root,
            names=new_videos,
            dataset_id=dataset.pk,
            staging=staging,
            rate=rate,
            progress=progress,
        )
        want_builtin = embed == "always" or (
            embed == "auto"
            and embedding_file is None
            and bool(todo or videos)
            and not dataset.embedding_spaces.exclude(name=BUILTIN_SPACE).exists()
        )
        # The scan proved every name in ``todo`` inside image_root (symlinks resolved), and
        # thumbnail names are digests: plain joins, no Path (10k+ names).
        root, thumbs, join = str(image_root), str(staging), os.path.join
        job_names = list(todo)
        jobs = [
            ImageJob(join(root, n), join(thumbs, thumbnail_relpath(dataset.pk, n)), want_builtin)
            for n in todo
        ]
        if want_builtin:  # the PCA is fitted on every image of the dataset, old ones too
            for name, (_, width, _) in existing.items():
                if width is None:
                    continue
                try:
                    path = safe_join(image_root, name)  # stored names: checked again
                except UnsafePathError as exc:
                    summary.images_failed.append((name, str(exc)))
                    continue
                job_names.append(name)
                jobs.append(ImageJob(str(path), None, True))
        frame_names, frame_jobs = frame_image_jobs(
            videos, dataset_id=dataset.pk, staging=staging, descriptor=want_builtin
        )
        job_names += frame_names
        jobs += frame_jobs
        thumbnails = [Path(job.thumbnail) for job in jobs if job.thumbnail]
        results = run_image_jobs(
            jobs,
            workers=workers,
            progress=(lambda done, total: progress("images", done, total)) if progress else None,
        )
        for name, job, result in zip(job_names, jobs, results, strict=True):
            if not result["ok"]:
                if job.thumbnail:
                    summary.images_failed.append((name, result["error"].replace(job.path, name)))
                continue
            if job.thumbnail:
                processed[name] = result
            if "descriptor" in result:
                descriptors[name] = result.pop("descriptor")
        frames_metadata(videos, processed)
    summary.phases["images"] = time.monotonic() - started - summary.phases["read files"]
    if progress:
        progress("writing", 0, 0)
    stored: list[EmbeddingSpace] = []
    try:
        with transaction.atomic():
            validate_and_write(
                stored=stored,
                dataset=dataset,
                summary=summary,
                image_root=image_root,
                existing=existing,
                processed=processed,
                descriptors=descriptors,
                embedding_file=embedding_file,
                embedding_name=embedding_name,
                normalize_embeddings=normalize_embeddings,
                samples_from_embeddings=samples_from_embeddings,
                metadata_file=metadata_file,
                tasks=tasks,
                object_import=object_import,
                user=user,
            )
            videos_write(dataset=dataset, videos=videos, summary=summary)
            if before_commit is not None:  # e.g. a job marks itself succeeded, atomically
                summary.seconds = time.monotonic() - started
                before_commit(summary)
    except BaseException:
        # Nothing was written: remove the new thumbnails and embedding files as well.
        for path in thumbnails:
            path.unlink(missing_ok=True)
        for space in stored:
            for path in embedding_paths(space):
                path.unlink(missing_ok=True)
        raise
    for space in stored:  # committed: every new or changed image space gets its 2D map
        if space.task_id is None:
            projection_schedule(space=space)
    summary.seconds = time.monotonic() - started
    return summary
