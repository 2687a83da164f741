"""The write half of an import: everything validated goes to the database in bulk, inside the
caller's transaction (no per-row queries)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection, models
from django.utils import timezone

from curation.db_bulk import insert_rows
from curation.embeddings.embedders import DescriptorEmbedder, descriptors_reduce
from curation.imports.annotations import prediction_scores
from curation.imports.common import (
    AnnotationRecord,
    FileNameIndex,
    IngestError,
    TaskImport,
    normalize_file_name,
)
from curation.imports.embeddings import EmbeddingFile
from curation.imports.metadata import MetadataFile
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    Sample,
    Score,
    Tag,
)
from curation.runs.defaults import dataset_defaults_from_import
from curation.storage.embeddings import embedding_space_load, embedding_space_store
from curation.storage.thumbnails import thumbnail_relpath
from curation.tags.services import tag_extend

BUILTIN_SPACE = DescriptorEmbedder.name
MASKED_TAG, SELECTED_TAG = "masked", "selected"
ID_CHUNK = 5000


@dataclass
class ImportSummary:
    dataset: Dataset
    created: bool = False
    images_added: int = 0
    images_updated: int = 0  # samples that had no pixels and now have them
    images_skipped: int = 0  # already in the dataset
    images_failed: list[tuple[str, str]] = field(default_factory=list)
    samples_without_pixels: int = 0  # created from an embeddings file
    metadata_rows: int = 0
    embeddings: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (rows, dim)
    annotations: dict[str, int] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for benchmarks

    def lines(self) -> list[str]:
        out = [
            f"Dataset {self.dataset.name!r} ({'created' if self.created else 'existing'}).",
            f"Images: {self.images_added} added, {self.images_skipped} skipped (already there), "
            f"{len(self.images_failed)} failed"
            + (f", {self.images_updated} given pixels" if self.images_updated else "")
            + ".",
        ]
        out += [f"  failed: {name}: {reason}" for name, reason in self.images_failed[:20]]
        if len(self.images_failed) > 20:
            out.append(f"  ... and {len(self.images_failed) - 20} more")
        if self.samples_without_pixels:
            out.append(f"Samples created from embedding file names: {self.samples_without_pixels}.")
        for name, (rows, dim) in self.embeddings.items():
            out.append(f"Embeddings {name!r}: {rows} x {dim}.")
        if self.metadata_rows:
            out.append(f"Metadata: {self.metadata_rows} samples.")
        for task, count in self.annotations.items():
            scores = self.scores.get(task)
            extra = f", {scores} scores" if scores else ""
            out.append(f"Annotations {task!r}: {count}{extra}.")
        for tag, count in self.tags.items():
            out.append(f"Tag {tag!r}: +{count} samples.")
        out += self.notes
        out.append(f"Time: {self.seconds:.1f} s.")
        return out


@dataclass
class ResolvedTask:
    """A task whose file names were resolved to canonical sample names (boxes in pixels)."""

    task: TaskImport
    by_name: dict[str, list[AnnotationRecord]]


@dataclass
class WriteCounts:
    annotations: dict[str, int] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)


def db_now(model: type[models.Model], field_name: str = "created") -> Any:
    """``timezone.now()`` prepared for ``model.field_name`` (an ``auto_now_add`` column)."""
    field: Any = model._meta.get_field(field_name)
    return field.get_db_prep_save(timezone.now(), connection)


def chunks(values: list[int], size: int = ID_CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def check_tasks_compatible(dataset: Dataset, tasks: list[ResolvedTask]) -> None:
    """Before writing: a task that exists must keep its kind."""
    existing = dict(AnnotationTask.objects.filter(dataset=dataset).values_list("name", "kind"))
    seen: dict[str, str] = {}
    for resolved in tasks:
        task = resolved.task
        kind = existing.get(task.name) or seen.get(task.name)
        if kind is not None and kind != task.kind:
            raise IngestError(
                f"Task {task.name!r} of {dataset.name} holds {kind} annotations, but "
                f"{task.source} has {task.kind} ones: import them under another task name."
            )
        seen[task.name] = task.kind


def check_embedding_compatible(
    dataset: Dataset, name: str, dimension: int, normalize: bool, source: str
) -> None:
    space = dataset.embedding_spaces.filter(name=name).first()
    if space is None:
        return
    if space.dimension != dimension:
        raise IngestError(
            f"{source} has {dimension}-d vectors but embedding space {name!r} of {dataset.name} "
            f"holds {space.dimension}-d ones (dimension mismatch): pick another --embedding-name."
        )
    if space.normalized != normalize:
        state = "unit-normalised" if space.normalized else "raw"
        raise IngestError(
            f"Embedding space {name!r} of {dataset.name} holds {state} vectors: import with the "
            "same normalisation or under another --embedding-name."
        )


def merged_embeddings(
    dataset: Dataset, name: str, ids: np.ndarray, matrix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The new rows plus the rows of the existing space for samples this import does not cover."""
    space = dataset.embedding_spaces.filter(name=name).first()
    if space is None:
        return ids, matrix
    old = embedding_space_load(space)
    keep = ~np.isin(old.sample_ids, ids)
    if not keep.any():
        return ids, matrix
    return (
        np.concatenate([old.sample_ids[keep], ids]),
        np.concatenate([np.asarray(old.matrix[keep], dtype=np.float32), matrix]),
    )


def write_tag_members(dataset: Dataset, name: str, sample_ids: list[int], user: Any) -> int:
    """Create tag ``name`` or add to it (through the tags service); returns how many samples it
    gained."""
    return tag_extend(dataset=dataset, name=name, sample_ids=sample_ids, created_by=user)[1]


def write_task(
    dataset: Dataset, resolved: ResolvedTask, ids: Mapping[str, int], counts: WriteCounts
) -> None:
    task = resolved.task
    obj, created = AnnotationTask.objects.get_or_create(
        dataset=dataset, name=task.name, defaults={"kind": task.kind, "categories": []}
    )
    categories = list(obj.categories or [])
    for category in task.categories:
        if category not in categories:
            categories.append(category)
    for records in resolved.by_name.values():
        for record in records:
            if record.label not in categories:
                categories.append(record.label)
    if categories != obj.categories:
        obj.categories = categories
        obj.save(update_fields=["categories"])
    sample_ids = [ids[name] for name in resolved.by_name]
    if not created:
        for chunk in chunks(sample_ids):
            Annotation.objects.filter(task=obj, sample_id__in=chunk).delete()
    rows = insert_rows(
        Annotation,
        ("sample", "task", "label", "x", "y", "w", "h", "score", "probabilities"),
        (
            (
                ids[name],
                obj.pk,
                r.label,
                _float(r.x),
                _float(r.y),
                _float(r.w),
                _float(r.h),
                _float(r.score),
                None if r.probabilities is None else json.dumps(r.probabilities),
            )
            for name, records in resolved.by_name.items()
            for r in records
        ),
    )
    counts.annotations[task.name] = counts.annotations.get(task.name, 0) + rows
    if not task.is_prediction:
        return
    by_sample = {ids[name]: records for name, records in resolved.by_name.items()}
    scores = prediction_scores(task.kind, by_sample)
    written = 0
    for score_name, values in scores.items():
        for chunk in chunks(list(values)):
            Score.objects.filter(task=task.name, name=score_name, sample_id__in=chunk).delete()
        written += insert_rows(
            Score,
            ("sample", "task", "name", "value"),
            ((s, task.name, score_name, float(v)) for s, v in values.items()),
        )
    counts.scores[task.name] = counts.scores.get(task.name, 0) + written


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


SAMPLE_FIELDS = ("dataset", "file_name", "width", "height", "size_bytes", "thumbnail")


def write_samples(
    dataset: Dataset,
    new_samples: list[tuple[str, int | None, int | None, int | None, str, dict[str, Any]]],
    updates: list[Sample],
    update_fields: list[str],
) -> None:
    """Insert ``new_samples`` ((file name, width, height, size, thumbnail, metadata) tuples) and
    save ``updates``."""
    created = db_now(Sample)
    insert_rows(
        Sample,
        (*SAMPLE_FIELDS, "metadata", "created"),
        (
            (dataset.pk, name, width, height, size, thumbnail, json.dumps(metadata), created)
            for name, width, height, size, thumbnail, metadata in new_samples
        ),
    )
    if updates:
        Sample.objects.bulk_update(updates, update_fields, batch_size=1000)


def validate_and_write(
    *,
    stored: list[EmbeddingSpace],
    dataset: Dataset,
    summary: ImportSummary,
    image_root: Path | None,
    existing: dict[str, tuple[int, int | None, int | None]],
    processed: dict[str, dict[str, Any]],
    descriptors: dict[str, np.ndarray],
    embedding_file: EmbeddingFile | None,
    embedding_name: str,
    normalize_embeddings: bool,
    samples_from_embeddings: bool,
    metadata_file: MetadataFile | None,
    tasks: list[TaskImport],
    user: Any,
) -> None:
    """Resolve every file name, check, then write samples, tags, tasks and embeddings."""
    clock = _PhaseClock(summary.phases)
    known = set(existing) | set(processed)
    pixelless: list[str] = []
    if embedding_file is not None and samples_from_embeddings:
        probe = FileNameIndex(known)
        pixelless = list(
            dict.fromkeys(
                normalize_file_name(n) for n in embedding_file.names if probe.lookup(n) is None
            )
        )
    index = FileNameIndex(known | set(pixelless))

    embedding_names: dict[str, str] = {}
    if embedding_file is not None:
        embedding_names = index.resolve(embedding_file.names, embedding_file.source)
    custom: dict[str, dict[str, Any]] = {}
    if metadata_file is not None:
        mapping = index.resolve([r[0] for r in metadata_file.rows], metadata_file.source)
        custom = {mapping[name]: values for name, values, _ in metadata_file.rows}
    sizes = {n: (w, h) for n, (_, w, h) in existing.items()}
    sizes.update({n: (r["width"], r["height"]) for n, r in processed.items()})
    resolved_tasks = [_resolve_task(task, index, sizes) for task in tasks]
    check_tasks_compatible(dataset, resolved_tasks)

    clock.lap("resolve names")

    # -- writes ---------------------------------------------------------------------------
    if image_root is not None and not dataset.image_root:
        dataset.image_root = str(image_root)
        dataset.save(update_fields=["image_root", "updated"])
    updated_names = [n for n in processed if n in existing]
    metadata_only = [n for n in custom if n in existing and n not in processed]
    current = _current_metadata(dataset, updated_names + metadata_only)
    new_samples: list[tuple[str, int | None, int | None, int | None, str, dict[str, Any]]] = []
    pixel_updates: list[Sample] = []
    no_values: dict[str, Any] = {}
    for name, result in processed.items():
        values = {**result["metadata"], **custom.get(name, no_values)}
        thumbnail = thumbnail_relpath(dataset.pk, name)
        if name in existing:
            sample = Sample(
                pk=existing[name][0],
                dataset=dataset,
                file_name=name,
                width=result["width"],
                height=result["height"],
                size_bytes=result["size"],
                thumbnail=thumbnail,
                metadata={**current.get(name, {}), **values},
            )
            pixel_updates.append(sample)
        else:
            new_samples.append(
                (name, result["width"], result["height"], result["size"], thumbnail, values)
            )
    summary.images_added = len(new_samples)
    summary.images_updated = len(pixel_updates)
    for name in pixelless:
        new_samples.append((name, None, None, None, "", custom.get(name, no_values)))
    summary.samples_without_pixels = len(pixelless)
    metadata_updates = [
        Sample(pk=existing[n][0], metadata={**current.get(n, {}), **custom[n]})
        for n in metadata_only
    ]
    write_samples(
        dataset,
        new_samples,
        pixel_updates,
        ["width", "height", "size_bytes", "thumbnail", "metadata"],
    )
    write_samples(dataset, [], metadata_updates, ["metadata"])
    summary.metadata_rows = len(custom)
    ids = dict(Sample.objects.filter(dataset=dataset).values_list("file_name", "id"))
    clock.lap("write samples")

    if embedding_file is not None:
        for flag in (MASKED_TAG, SELECTED_TAG):
            column = getattr(embedding_file, flag)
            if column is not None and column.any():
                members = [
                    ids[embedding_names[n]]
                    for n, on in zip(embedding_file.names, column, strict=True)
                    if on
                ]
                summary.tags[flag] = write_tag_members(dataset, flag, members, user)
                dataset_defaults_from_import(  # the default mask / pre-selection from now on
                    dataset=dataset, flag=flag, tag=Tag.objects.get(dataset=dataset, name=flag)
                )
    counts = WriteCounts()
    for resolved in resolved_tasks:
        write_task(dataset, resolved, ids, counts)
    summary.annotations, summary.scores = counts.annotations, counts.scores
    clock.lap("write tags and annotations")

    if embedding_file is not None:
        row_ids = np.array([ids[embedding_names[n]] for n in embedding_file.names])
        row_ids, matrix = merged_embeddings(dataset, embedding_name, row_ids, embedding_file.matrix)
        stored.append(
            embedding_space_store(
                dataset=dataset,
                name=embedding_name,
                matrix=matrix,
                sample_ids=row_ids,
                normalize=normalize_embeddings,
            )
        )
        summary.embeddings[embedding_name] = (len(row_ids), matrix.shape[1])
    if descriptors:
        names = sorted(descriptors)
        matrix = descriptors_reduce(np.stack([descriptors[n] for n in names]))
        stored.append(
            embedding_space_store(
                dataset=dataset,
                name=BUILTIN_SPACE,
                matrix=matrix,
                sample_ids=np.array([ids[n] for n in names]),
                normalize=True,
            )
        )
        summary.embeddings[BUILTIN_SPACE] = matrix.shape
    clock.lap("store embeddings")


class _PhaseClock:
    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = self.phases.get(name, 0.0) + now - self.last
        self.last = now


def _current_metadata(dataset: Dataset, names: list[str]) -> dict[str, dict[str, Any]]:
    current: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), 5000):
        current.update(
            Sample.objects.filter(
                dataset=dataset, file_name__in=names[start : start + 5000]
            ).values_list("file_name", "metadata")
        )
    return current


def _resolve_task(
    task: TaskImport, index: FileNameIndex, sizes: dict[str, tuple[int | None, int | None]]
) -> ResolvedTask:
    mapping = index.resolve(
        task.by_name, task.source, described=task.described, by_stem=task.match_by_stem
    )
    by_name: dict[str, list[AnnotationRecord]] = {}
    for written, records in task.by_name.items():
        name = mapping[written]
        if name in by_name:
            raise IngestError(f"{task.source} lists {name!r} twice (as {written!r}).")
        if any(r.normalized for r in records):
            width, height = sizes.get(name, (None, None))
            if width is None or height is None:
                raise IngestError(
                    f"{task.source} has YOLO boxes for {name}, whose size is unknown: import "
                    "the image (--images) with the labels."
                )
            records = [_to_pixels(r, width, height) for r in records]
        by_name[name] = records
    return ResolvedTask(task=task, by_name=by_name)


def _to_pixels(record: AnnotationRecord, width: int, height: int) -> AnnotationRecord:
    assert record.x is not None and record.y is not None
    assert record.w is not None and record.h is not None
    return AnnotationRecord(
        label=record.label,
        x=record.x * width,
        y=record.y * height,
        w=record.w * width,
        h=record.h * height,
        score=record.score,
        probabilities=record.probabilities,
    )
