"""The ORM side of object embeddings: which annotation a row of an object embeddings file means,
the checks on its box, and the object-level embedding space that stores the vectors.

An object is a box (``Annotation`` with x/y/w/h) of a detection task; its ``object_index`` is its
position among its image's boxes of that task in primary-key order, which is the order the
annotation file listed them (the importer inserts them so). Every refusal names the file and the
line: an unknown file name or object, a COCO annotation id the COCO file lacks, a box outside its
image (beyond ``BOX_TOLERANCE`` pixels) or with zero area. Nothing is written unless every row
passes; the space is then stored in one step (``embedding_space_store``: all or nothing).
``object_import_read`` parses a file before an import writes anything and
``object_import_write`` stores it inside the import's transaction, after the boxes it names
were written (``manage.py import_dataset --annotations … --object-embeddings …``, the upload
job): one import, all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction

from curation.formats.names import normalize_file_name
from curation.formats.objects import (
    ObjectEmbeddingFile,
    ObjectKey,
    coco_object_keys,
    read_object_embeddings,
)
from curation.formats.records import IngestError
from curation.models import Annotation, AnnotationTask, Dataset, EmbeddingSpace, Sample
from curation.storage.embeddings import embedding_space_store

BOX_TOLERANCE = 1.0  # pixels a box may reach beyond its image (rounding in other tools)
IMPORTED_PREFIX, COMPUTED_PREFIX = "objects", "crops"


def object_space_name(task: AnnotationTask, *, computed: bool) -> str:
    """The default name of a task's object space: ``objects:<task>`` (imported) or
    ``crops:<task>`` (computed from the crops)."""
    return f"{COMPUTED_PREFIX if computed else IMPORTED_PREFIX}:{task.name}"


def detection_task(dataset: Dataset, name: str, *, path: str = "task") -> AnnotationTask:
    """The detection task ``name`` of ``dataset``; ``IngestError`` naming what exists."""
    task = AnnotationTask.objects.filter(dataset=dataset, name=name).first()
    if task is None:
        known = ", ".join(
            AnnotationTask.objects.filter(dataset=dataset).values_list("name", flat=True)
        )
        raise IngestError(
            f"{path}: dataset {dataset.name!r} has no task {name!r} (known: {known or 'none'})."
        )
    if task.kind != AnnotationTask.Kind.DETECTION:
        raise IngestError(f"{path}: task {name!r} holds {task.kind} labels, not boxes.")
    return task


@dataclass(frozen=True)
class ObjectBox:
    annotation_id: int
    sample_id: int
    x: float
    y: float
    w: float
    h: float
    image_width: int | None
    image_height: int | None


def box_problem(box: ObjectBox) -> str | None:
    """Why this box cannot be an object (zero area, outside its image), or None."""
    if box.w <= 0 or box.h <= 0:
        return f"box ({box.x:g}, {box.y:g}, {box.w:g}, {box.h:g}) has zero area"
    if box.image_width is None or box.image_height is None:
        return None
    t = BOX_TOLERANCE
    if (
        box.x < -t
        or box.y < -t
        or box.x + box.w > box.image_width + t
        or box.y + box.h > box.image_height + t
    ):
        return (
            f"box ({box.x:g}, {box.y:g}, {box.w:g}, {box.h:g}) lies outside its "
            f"{box.image_width}x{box.image_height} image"
        )
    return None


def task_boxes(task: AnnotationTask, sample_ids: Iterable[int] | None = None) -> list[ObjectBox]:
    """Every box of ``task`` (of ``sample_ids`` when given), by sample, then primary key."""
    qs = Annotation.objects.filter(task=task, x__isnull=False, y__isnull=False)
    qs = qs.filter(w__isnull=False, h__isnull=False)
    if sample_ids is not None:
        qs = qs.filter(sample_id__in=list(sample_ids))
    rows = qs.order_by("sample_id", "pk").values_list(
        "pk", "sample_id", "x", "y", "w", "h", "sample__width", "sample__height"
    )
    return [
        ObjectBox(pk, sid, float(x), float(y), float(w), float(h), width, height)  # type: ignore[arg-type]
        for pk, sid, x, y, w, h, width, height in rows.iterator(chunk_size=20_000)
    ]


def _boxes_by_file(task: AnnotationTask) -> dict[str, list[ObjectBox]]:
    names = dict(Sample.objects.filter(dataset_id=task.dataset_id).values_list("pk", "file_name"))
    out: dict[str, list[ObjectBox]] = {}
    for box in task_boxes(task):
        out.setdefault(normalize_file_name(names[box.sample_id]), []).append(box)
    return out


def _resolve(
    key: ObjectKey,
    boxes: dict[str, list[ObjectBox]],
    coco: dict[int, tuple[str, int, tuple[float, float, float, float]]] | None,
    where: str,
    task: AnnotationTask,
) -> ObjectBox:
    file_name, index = key.file_name, key.index
    if key.annotation_id is not None:
        if coco is None:
            raise IngestError(
                f"{where}: rows keyed by annotation_id need the COCO file the task came from "
                "(--object-coco FILE / the coco field)."
            )
        if key.annotation_id not in coco:
            raise IngestError(
                f"{where}: unknown annotation id {key.annotation_id} (the COCO file has no "
                "box with that id)."
            )
        file_name, index, _ = coco[key.annotation_id]
    assert file_name is not None and index is not None
    found = boxes.get(normalize_file_name(file_name))
    if found is None:
        raise IngestError(f"{where}: {file_name} has no box in task {task.name!r}.")
    if index >= len(found):
        raise IngestError(
            f"{where}: unknown object {index} of {file_name} (task {task.name!r} has "
            f"{len(found)} box(es) there, numbered from 0)."
        )
    return found[index]


CocoKeys = dict[int, tuple[str, int, tuple[float, float, float, float]]]


def object_rows(
    parsed: ObjectEmbeddingFile, task: AnnotationTask, coco: CocoKeys | None = None
) -> np.ndarray:
    """The annotation id of every row of ``parsed`` (``coco``: the COCO file's keys, for rows
    keyed by annotation id), each box checked; ``IngestError`` naming the file and line of the
    first bad row."""
    boxes = _boxes_by_file(task)
    ids = np.empty(len(parsed.keys), dtype=np.int64)
    for row, key in enumerate(parsed.keys):
        where = f"{parsed.key_source} line {key.line}"
        box = _resolve(key, boxes, coco, where, task)
        problem = box_problem(box)
        if problem is not None:
            raise IngestError(f"{where}: {key.describe()}: {problem}; fix or drop the box.")
        ids[row] = box.annotation_id
    if len(np.unique(ids)) != len(ids):
        raise IngestError(f"{parsed.source} gives one object two vectors (by two keys).")
    return ids


@dataclass(frozen=True)
class ObjectImport:
    """An object embeddings file read and parsed (the cheap checks done), waiting for its
    task's boxes: written by ``object_import_write`` in the transaction of the import that may
    also write those boxes (``dataset_import``), so both commit or neither does."""

    parsed: ObjectEmbeddingFile
    task_name: str
    coco: CocoKeys | None
    name: str | None
    normalize: bool


def object_import_read(
    *,
    dataset: Dataset,
    path: Path,
    task_name: str | None,
    keys_path: Path | None = None,
    coco_path: Path | None = None,
    name: str | None = None,
    normalize: bool = True,
    incoming_tasks: Iterable[str] = (),
) -> ObjectImport:
    """Parse an object embeddings file (and its key and COCO files) before anything is written.
    The task must exist in ``dataset`` or be one of ``incoming_tasks`` (written by the same
    import); ``IngestError`` naming the file and line otherwise."""
    if not task_name:
        raise IngestError(
            f"task: name the detection task of the objects in {path.name} (--task NAME)."
        )
    if task_name not in set(incoming_tasks):
        detection_task(dataset, task_name)
    parsed = read_object_embeddings(path, keys_path)
    coco = coco_object_keys(coco_path) if coco_path is not None else None
    return ObjectImport(parsed, task_name, coco, name, normalize)


def object_import_write(
    *, dataset: Dataset, plan: ObjectImport, stored: list[EmbeddingSpace]
) -> EmbeddingSpace:
    """Resolve every row of ``plan`` to a box of its task (as the database holds them now, in
    the caller's transaction) and store the object space, its files appended to ``stored`` so
    the caller removes them if its transaction rolls back. Every check first."""
    task = detection_task(dataset, plan.task_name)
    ids = object_rows(plan.parsed, task, plan.coco)
    name = plan.name or object_space_name(task, computed=False)
    clash = EmbeddingSpace.all_spaces.filter(dataset=dataset, name=name).first()
    if clash is not None and clash.task_id != task.pk:
        raise IngestError(
            f"name: the embedding space {name!r} of {dataset.name!r} is not one of task "
            f"{task.name!r}; choose another name."
        )
    space = embedding_space_store(
        dataset=dataset,
        name=name,
        matrix=plan.parsed.matrix,
        sample_ids=ids,
        normalize=plan.normalize,
        task=task,
        source={"kind": "imported", "file": plan.parsed.source},
    )
    stored.append(space)
    return space


def object_embeddings_import(
    *,
    dataset: Dataset,
    task_name: str,
    path: Path,
    keys_path: Path | None = None,
    coco_path: Path | None = None,
    name: str | None = None,
    normalize: bool = True,
) -> EmbeddingSpace:
    """Store the object embeddings file ``path`` as an object space of the detection task
    ``task_name`` (replacing that space's vectors); all checks first, nothing written on error."""
    plan = object_import_read(
        dataset=dataset,
        path=path,
        task_name=task_name,
        keys_path=keys_path,
        coco_path=coco_path,
        name=name,
        normalize=normalize,
    )
    with transaction.atomic():
        return object_import_write(dataset=dataset, plan=plan, stored=[])
