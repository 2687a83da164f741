"""The annotation tasks of an import: file names resolved to samples, YOLO boxes converted to
pixels, then written in bulk (with active-learning scores for prediction tasks).

A task that exists keeps its kind (``check_tasks_compatible``, before anything is written);
re-importing a task replaces the annotations (and scores) of the samples it covers, and keeps
the rest. Categories only grow: new labels are appended in the order they first appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from curation.db_bulk import insert_rows
from curation.formats.annotations import natural_key
from curation.formats.records import (
    CLASSIFICATION,
    AnnotationRecord,
    EmbeddingFile,
    IngestError,
    TaskImport,
)
from curation.imports.common import FileNameIndex
from curation.imports.scores import prediction_scores
from curation.imports.summary import ImportSummary
from curation.models import Annotation, AnnotationTask, Dataset, Score

ID_CHUNK = 5000


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


def chunks(values: list[int], size: int = ID_CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def resolve_task(
    task: TaskImport, index: FileNameIndex, sizes: dict[str, tuple[int | None, int | None]]
) -> ResolvedTask:
    """``task`` keyed by canonical sample names; normalised (YOLO) boxes scaled by ``sizes``."""
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


def write_task(
    dataset: Dataset, resolved: ResolvedTask, ids: Mapping[str, int], counts: WriteCounts
) -> None:
    """Write one resolved task's annotations (and, for predictions, scores); ``ids`` maps
    canonical file names to sample ids; ``counts`` gains what was written."""
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


def labels_task(embedding_file: EmbeddingFile, summary: ImportSummary) -> TaskImport | None:
    """The CSV ``labels`` column as ground-truth classifications (all-0 = Lightly's "no label")."""
    labels = embedding_file.labels
    if labels is None or all(label in (None, "0") for label in labels):
        if labels is not None:
            summary.notes.append("Every label in the embeddings file is 0: labels not imported.")
        return None
    task = TaskImport(
        name=AnnotationTask.GROUND_TRUTH,
        kind=CLASSIFICATION,
        categories=sorted({label for label in labels if label}, key=natural_key),
        source=embedding_file.source,
        is_prediction=False,
    )
    records = {label: AnnotationRecord(label=label) for label in task.categories}
    task.by_name = {
        name: [records[label]]
        for name, label in zip(embedding_file.names, labels, strict=True)
        if label
    }
    return task


def task_names_check(tasks: list[TaskImport]) -> None:
    seen: dict[str, str] = {}
    for task in tasks:
        if task.is_prediction and task.name == AnnotationTask.GROUND_TRUTH:
            raise IngestError(
                f"Predictions from {task.source} cannot use the task name 'ground_truth': "
                "name the prediction task (--prediction-task)."
            )
        if task.name in seen:
            raise IngestError(
                f"Both {seen[task.name]} and {task.source} fill task {task.name!r}: import one "
                "of them under another task name."
            )
        seen[task.name] = task.source
