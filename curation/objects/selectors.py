"""Reads of the objects pages: the objects (boxes of detection tasks) of a dataset, filtered by
task, label and tag, a page at a time, and the objects of an objects tag in pick order.

Every page is one query for its rows (annotation, parent image name, task name joined in), so a
page costs the same whatever its size; the grid pages by annotation id (``after`` = the last id
shown), an objects tag's pick order by rank (``start`` = the first rank to show). An objects tag
filters to its objects; an image tag to the objects on its images.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from curation.models import Annotation, AnnotationTask, Dataset, SelectionRun, Tag, TagAnnotation

PAGE_SIZE = 60
RESULT_PAGE_SIZE = 48

_COLUMNS = ("pk", "sample_id", "sample__file_name", "task__name", "label", "score")
_BOX = ("x", "y", "w", "h")


class ObjectsFilterError(ValueError):
    """A filter naming a task or tag the dataset lacks; the message says what exists."""


@dataclass(frozen=True)
class ObjectItem:
    annotation_id: int
    sample_id: int
    file_name: str
    task: str
    label: str
    score: float | None
    box: tuple[float, float, float, float]
    rank: int | None = None  # 1-based pick position, for an objects tag in pick order

    @property
    def size(self) -> str:
        return f"{self.box[2]:g}x{self.box[3]:g}"


@dataclass(frozen=True)
class ObjectPage:
    items: list[ObjectItem]
    next_cursor: int | None  # the ``after`` (grid) or ``start`` (pick order) of the next page


@dataclass(frozen=True)
class ObjectsQuery:
    """A resolved grid filter: tasks are detection tasks of the dataset, the tag is its own."""

    dataset: Dataset
    tasks: list[AnnotationTask]  # the tasks shown (all detection tasks when none was chosen)
    task: AnnotationTask | None
    label: str
    tag: Tag | None


def detection_tasks(dataset: Dataset) -> list[AnnotationTask]:
    return list(
        AnnotationTask.objects.filter(dataset=dataset, kind=AnnotationTask.Kind.DETECTION)
        .only("pk", "name", "categories", "dataset_id")
        .order_by("name")
    )


def filter_tags(dataset: Dataset) -> list[Tag]:
    """Tags the grid can filter by: objects tags first, then image tags, by name."""
    tags = list(Tag.objects.filter(dataset=dataset).only("pk", "name", "kind").order_by("name"))
    return sorted(tags, key=lambda t: t.kind != Tag.Kind.OBJECTS)


def objects_query(
    dataset: Dataset,
    *,
    tasks: list[AnnotationTask],
    task_name: str,
    label: str,
    tag_name: str,
) -> ObjectsQuery:
    """The grid filter with names resolved; ``ObjectsFilterError`` for an unknown name."""
    task = None
    if task_name:
        task = next((t for t in tasks if t.name == task_name), None)
        if task is None:
            known = ", ".join(t.name for t in tasks) or "none"
            raise ObjectsFilterError(
                f"This dataset has no detection task {task_name!r} (known: {known})."
            )
    tag = None
    if tag_name:
        tag = Tag.objects.filter(dataset=dataset, name=tag_name).only("pk", "name", "kind").first()
        if tag is None:
            raise ObjectsFilterError(f"This dataset has no tag {tag_name!r}.")
    return ObjectsQuery(dataset, tasks, task, label, tag)


def _objects(query: ObjectsQuery) -> QuerySet[Annotation]:
    tasks = [query.task] if query.task is not None else query.tasks
    qs = Annotation.objects.filter(task_id__in=[t.pk for t in tasks])
    qs = qs.filter(x__isnull=False, y__isnull=False, w__isnull=False, h__isnull=False)
    if query.label:
        qs = qs.filter(label=query.label)
    if query.tag is not None and query.tag.kind == Tag.Kind.OBJECTS:
        qs = qs.filter(object_memberships__tag=query.tag)
    elif query.tag is not None:
        qs = qs.filter(sample__memberships__tag=query.tag)
    return qs


def _item(row: tuple[object, ...], rank: int | None = None) -> ObjectItem:
    pk, sample_id, file_name, task, label, score, x, y, w, h = row
    return ObjectItem(
        int(pk),  # type: ignore[call-overload]
        int(sample_id),  # type: ignore[call-overload]
        str(file_name),
        str(task),
        str(label),
        None if score is None else float(score),  # type: ignore[arg-type]
        (float(x), float(y), float(w), float(h)),  # type: ignore[arg-type]
        rank,
    )


def objects_count(query: ObjectsQuery) -> int:
    return _objects(query).count()


def objects_page(query: ObjectsQuery, *, after: int = 0, size: int = PAGE_SIZE) -> ObjectPage:
    """The objects with an annotation id above ``after``, ``size`` at most, by id."""
    rows = list(
        _objects(query)
        .filter(pk__gt=after)
        .order_by("pk")
        .values_list(*_COLUMNS, *_BOX)[: size + 1]
    )
    items = [_item(row) for row in rows[:size]]
    return ObjectPage(items, items[-1].annotation_id if len(rows) > size else None)


def tag_objects_count(tag: Tag) -> int:
    return TagAnnotation.objects.filter(tag=tag).count()


def tag_objects_page(tag: Tag, *, start: int = 0, size: int = RESULT_PAGE_SIZE) -> ObjectPage:
    """The objects of an objects tag in pick order (rank), from rank ``start``, ``size`` at
    most; ``rank`` on each item counts from 1."""
    columns = tuple(f"annotation__{c}" if c != "pk" else "annotation_id" for c in _COLUMNS)
    rows = list(
        TagAnnotation.objects.filter(tag=tag, rank__gte=start)
        .filter(**{f"annotation__{c}__isnull": False for c in _BOX})
        .order_by("rank")
        .values_list("rank", *columns, *(f"annotation__{c}" for c in _BOX))[: size + 1]
    )
    items = [_item(row[1:], rank=int(row[0]) + 1) for row in rows[:size]]
    return ObjectPage(items, int(rows[size][0]) if len(rows) > size else None)


def run_objects_tag(run: SelectionRun) -> Tag | None:
    """The objects tag an object-level run wrote (``options["objects"]["tag_id"]``), if it still
    exists; None for an image-level run."""
    info = (run.options or {}).get("objects") if isinstance(run.options, dict) else None
    tag_id = info.get("tag_id") if isinstance(info, dict) else None
    if not isinstance(tag_id, int):
        return None
    return Tag.objects.filter(pk=tag_id, dataset_id=run.dataset_id, kind=Tag.Kind.OBJECTS).first()
