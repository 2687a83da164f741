"""Object-level runs: a config whose EMBEDDINGS input names a detection ``task`` selects the
objects (boxes) of that task lying on the candidate images.

The engine stays object-agnostic: here every object becomes one row of ``ArrayData`` (rows by
ascending annotation id), and ``n`` counts objects.

- Masks and pre-selection apply through the parent image (an object of a masked image is
  masked); a pre-selection tag of kind ``objects`` pre-selects exactly its objects.
- DIVERSITY / TYPICALITY / SIMILARITY read the task's object space (imported, or computed from
  the crops at execution when the task has none or its boxes changed). A SIMILARITY query tag
  holds objects (an objects tag) or images (their boxes of the task).
- SCORES of the task are per object: ``confidence`` / ``objectness`` (the box score),
  ``objectness_least_confidence`` (1 - score) and the ``uncertainty_*`` scores of its class
  probabilities. PREDICTIONS of the task are per object: its probabilities (CLASS_DISTRIBUTION,
  else one-hot) or one-hot (CATEGORY_COUNT).
- METADATA is the parent image's, except the built-in ``object.width``, ``object.height``,
  ``object.area`` and ``object.score``; THRESHOLD works on both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet

from curation.imports.objects import object_space_name
from curation.imports.scores import SCORE_NAMES, classification_scores
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    Sample,
    Tag,
    TagAnnotation,
    TagSample,
)
from curation.runs.inputs import ResolvedInputs, SelectionRunError, check_metadata_input
from curation.runs.load import (
    Check,
    LoadedInputs,
    load_candidate_rows,
    load_timings,
    numeric_or_object,
)
from curation.selection import ArrayData, SelectionConfig
from curation.selection.config import StrategySpec
from curation.selection.kernels_align import RowIndex
from curation.storage.embeddings import embedding_space_load

OBJECT_KEYS = ("object.width", "object.height", "object.area", "object.score")
OBJECT_SCORES = ("confidence", "objectness", "objectness_least_confidence", *SCORE_NAMES)


@dataclass(frozen=True)
class ObjectPlan:
    """The object side of a resolved run: the task, and its space (``space`` None: computed
    from the crops at execution under ``space_name``)."""

    task: AnnotationTask
    space_name: str
    space: EmbeddingSpace | None


def _task(dataset: Dataset, spec: StrategySpec) -> AnnotationTask:
    path = f"{spec.path}.input.task"
    name = str(spec.input.task)
    task = AnnotationTask.objects.filter(dataset=dataset, name=name).first()
    if task is None:
        known = ", ".join(
            AnnotationTask.objects.filter(dataset=dataset).values_list("name", flat=True)
        )
        raise SelectionRunError(
            f"{path}: dataset {dataset.name!r} has no task {name!r} (known: {known or 'none'}).",
            path=path,
        )
    if task.kind != AnnotationTask.Kind.DETECTION:
        raise SelectionRunError(
            f"{path}: task {name!r} holds {task.kind} labels; objects need a detection task.",
            path=path,
        )
    if not Annotation.objects.filter(task=task, w__isnull=False).exists():
        raise SelectionRunError(f"{path}: task {name!r} has no boxes.", path=path)
    return task


def _space(task: AnnotationTask, spec: StrategySpec) -> tuple[str, EmbeddingSpace | None]:
    path = f"{spec.path}.input.embedding"
    spaces = list(EmbeddingSpace.all_spaces.filter(task=task).order_by("name"))
    name = spec.input.embedding
    if name is not None:
        found = next((s for s in spaces if s.name == name), None)
        if found is None:
            known = ", ".join(s.name for s in spaces) or "none"
            raise SelectionRunError(
                f"{path}: task {task.name!r} has no object space {name!r} (known: {known}).",
                path=path,
            )
        return name, found
    if len(spaces) > 1:
        names = ", ".join(s.name for s in spaces)
        raise SelectionRunError(
            f"{path}: task {task.name!r} has several object spaces ({names}); name one in "
            "input.embedding.",
            path=path,
        )
    if spaces:
        return spaces[0].name, spaces[0]
    return object_space_name(task, computed=True), None  # computed from the crops at execution


def _query_tag(dataset: Dataset, spec: StrategySpec) -> Tag:
    path = f"{spec.path}.input.tag_name"
    if spec.input.dataset not in (None, dataset.name, str(dataset.pk)):
        raise SelectionRunError(
            f"{path}: object-level query sets come from the same dataset.", path=path
        )
    tag = Tag.objects.filter(dataset=dataset, name=spec.input.tag_name).first()
    if tag is None:
        raise SelectionRunError(
            f"{path}: no tag named {spec.input.tag_name!r} in dataset {dataset.name!r}.", path=path
        )
    return tag


def resolve_object_inputs(
    *, dataset: Dataset, config: SelectionConfig, candidates: QuerySet[Sample]
) -> ResolvedInputs:
    """What an object-level config refers to; :class:`SelectionRunError` naming the path."""
    resolved = ResolvedInputs()
    plan: ObjectPlan | None = None
    for spec in config.strategies:
        inp = spec.input
        if inp.type == "EMBEDDINGS":
            if plan is None or inp.embedding not in (None, plan.space_name):
                task = plan.task if plan is not None else _task(dataset, spec)
                name, space = _space(task, spec)
                if plan is not None and name != plan.space_name:
                    raise SelectionRunError(
                        f"{spec.path}.input.embedding: use one object space per config.",
                        path=f"{spec.path}.input.embedding",
                    )
                plan = ObjectPlan(task=task, space_name=name, space=space)
            if inp.query_key is not None and inp.query_key not in resolved.queries:
                tag = _query_tag(dataset, spec)
                resolved.queries[inp.query_key] = (dataset, tag, plan.space)  # type: ignore[assignment]
        elif inp.type == "METADATA" and str(inp.key) not in OBJECT_KEYS:
            check_metadata_input(spec, candidates, candidates)
        elif inp.type == "SCORES" and inp.score not in OBJECT_SCORES:
            path = f"{spec.path}.input.score"
            raise SelectionRunError(
                f"{path}: per-object scores are {', '.join(OBJECT_SCORES)}.", path=path
            )
    assert plan is not None  # the config parser guarantees an EMBEDDINGS input with a task
    resolved.tasks[plan.task.name] = plan.task
    resolved.objects = plan
    return resolved


# ----------------------------------------------------------------------------- loading


def _object_scores(scores: np.ndarray, probabilities: list[Any], name: str) -> np.ndarray:
    if name in ("confidence", "objectness"):
        return scores.copy()
    if name == "objectness_least_confidence":
        return 1.0 - scores
    out = np.full(len(scores), np.nan)
    rows = [i for i, p in enumerate(probabilities) if isinstance(p, list) and len(p) >= 2]
    widths = {len(probabilities[i]) for i in rows}
    for width in widths:
        chosen = [i for i in rows if len(probabilities[i]) == width]
        values = classification_scores(np.asarray([probabilities[i] for i in chosen]))[name]
        out[chosen] = values
    return out


def _object_predictions(
    task: AnnotationTask, labels: list[str], probabilities: list[Any], name: str
) -> tuple[np.ndarray, list[str]]:
    classes = [str(c) for c in task.categories]
    index = {c: j for j, c in enumerate(classes)}
    for label in labels:
        if label not in index:
            index[label] = len(classes)
            classes.append(label)
    matrix = np.zeros((len(labels), len(classes)), dtype=np.float64)
    for row, (label, probs) in enumerate(zip(labels, probabilities, strict=True)):
        if (
            name == "CLASS_DISTRIBUTION"
            and isinstance(probs, list)
            and len(probs) == len(task.categories) > 0
        ):
            matrix[row, : len(probs)] = np.asarray(probs, dtype=np.float64)
        else:
            matrix[row, index[label]] = 1.0
    return matrix, classes


def _query_vectors(tag: Tag, task: AnnotationTask, space: EmbeddingSpace, path: str) -> np.ndarray:
    if tag.kind == Tag.Kind.OBJECTS:
        wanted = _object_members(tag)
    else:
        images = TagSample.objects.filter(tag=tag).values("sample_id")
        members = Annotation.objects.filter(task=task, sample_id__in=images)
        wanted = np.fromiter(members.values_list("pk", flat=True), dtype=np.int64)
    wanted = np.sort(wanted)
    loaded = embedding_space_load(space)
    rows, found = RowIndex(loaded.sample_ids).find(wanted)
    if not found.any():
        raise SelectionRunError(
            f"{path}: no object of the query tag {tag.name!r} has a vector in {space.name!r}.",
            path=path,
        )
    return np.take(loaded.matrix, rows[found], axis=0)


def load_object_inputs(
    *,
    config: SelectionConfig,
    resolved: ResolvedInputs,
    space: EmbeddingSpace,
    candidates: QuerySet[Sample],
    mask_tag: Tag | None,
    preselected_tag: Tag | None,
    check: Check,
) -> LoadedInputs:
    """Every input of an object-level run, one row per object with a vector (by annotation id);
    ``LoadedInputs.sample_ids`` holds each row's parent image, ``object_ids`` its annotation."""
    plan: ObjectPlan = resolved.objects
    t0 = time.perf_counter()
    req = config.requirements()
    keys = sorted(k for k in req.metadata if k not in OBJECT_KEYS)
    image_ids, image_meta = load_candidate_rows(candidates, keys, check)
    boxes = list(
        Annotation.objects.filter(task=plan.task, w__isnull=False)
        .order_by("pk")
        .values_list("pk", "sample_id", "label", "w", "h", "score", "probabilities")
        .iterator(chunk_size=20_000)
    )
    check()
    ann_ids = np.fromiter((b[0] for b in boxes), dtype=np.int64, count=len(boxes))
    parents = np.fromiter((b[1] for b in boxes), dtype=np.int64, count=len(boxes))
    image_rows, on_candidate = RowIndex(image_ids).find(parents)
    loaded = embedding_space_load(space)
    vector_rows, has_vector = RowIndex(loaded.sample_ids).find(ann_ids)
    n_without = int((on_candidate & ~has_vector).sum())
    keep = np.flatnonzero(on_candidate & has_vector)
    t_candidates = time.perf_counter()
    rows = vector_rows[keep]
    if len(rows) == loaded.matrix.shape[0] and np.array_equal(rows, np.arange(len(rows))):
        matrix = loaded.matrix
    else:
        matrix = np.take(loaded.matrix, rows, axis=0)
    check()
    t_embeddings = time.perf_counter()
    kept = [boxes[i] for i in keep]
    image_of = image_rows[keep]
    widths = np.array([b[3] for b in kept], dtype=np.float64)
    heights = np.array([b[4] for b in kept], dtype=np.float64)
    scores_raw = np.array([np.nan if b[5] is None else b[5] for b in kept], dtype=np.float64)
    labels = [str(b[2]) for b in kept]
    probabilities = [b[6] for b in kept]
    builtin = {
        "object.width": widths,
        "object.height": heights,
        "object.area": widths * heights,
        "object.score": scores_raw,
    }
    metadata: dict[str, np.ndarray] = {}
    for key in req.metadata:
        if key in builtin:
            metadata[key] = builtin[key]
        else:
            column = image_meta[key]
            values = [column[i] for i in image_of]
            metadata[key] = (
                np.array(values, dtype=object)
                if key in req.string_metadata
                else numeric_or_object(values)
            )
    scores = {
        (task, name): _object_scores(scores_raw, probabilities, name) for task, name in req.scores
    }
    predictions = {
        (task, name): _object_predictions(plan.task, labels, probabilities, name)
        for task, name in req.predictions
    }
    queries = {
        key: _query_vectors(tag, plan.task, space, "input.tag_name")
        for key, (_, tag, _) in resolved.queries.items()
    }
    sample_ids = parents[keep]
    object_ids = ann_ids[keep]
    masked = np.isin(sample_ids, _members(mask_tag)) if mask_tag is not None else None
    preselected = None
    if preselected_tag is not None:
        if preselected_tag.kind == Tag.Kind.OBJECTS:
            preselected = np.isin(object_ids, _object_members(preselected_tag))
        else:
            preselected = np.isin(sample_ids, _members(preselected_tag))
    data = ArrayData(
        embeddings={plan.space_name: matrix},
        metadata=metadata,
        scores=scores,
        predictions=predictions,
        queries=queries,
        masked=masked,
        preselected=preselected,
        n=len(keep),
    )
    return LoadedInputs(
        sample_ids=sample_ids,
        data=data,
        n_without_vectors=n_without,
        timings=load_timings(t0, t_candidates, t_embeddings),
        object_ids=object_ids,
    )


def _members(tag: Tag) -> np.ndarray:
    ids = TagSample.objects.filter(tag=tag).values_list("sample_id", flat=True)
    return np.fromiter(ids, dtype=np.int64)


def _object_members(tag: Tag) -> np.ndarray:
    ids = TagAnnotation.objects.filter(tag=tag).values_list("annotation_id", flat=True)
    return np.fromiter(ids, dtype=np.int64)
