"""Inputs of a selection run, checked at start: the candidate set, the option tags, and every
embedding space, metadata key, score, prediction task and query tag the config refers to.

Candidates are the samples matching the run's filter plus the pre-selected tag's samples (a
pre-selected sample is part of the result, so it is added to the candidates even when the filter
leaves it out). Loading them as arrays is ``selection_load``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from curation.access import datasets_visible_to
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    Sample,
    Score,
    Tag,
    TagSample,
)
from curation.selection import SelectionConfig, SelectionError, parse_config
from curation.selection.config import StrategySpec
from curation.storage.embeddings import embedding_space_load

_TYPE_SAMPLE = 200  # metadata values whose JSON type is checked at start


class SelectionRunError(ValueError):
    """A selection that cannot start; ``str()`` is one sentence naming the JSON path or the
    parameter (``path``) that is wrong."""

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        super().__init__(message)


_MAX_N_SAMPLES = 2**63 - 1  # the run's requested_n column (a 64-bit integer)


def parse_run_config(config: Any) -> SelectionConfig:
    """The parsed config, or :class:`SelectionRunError` naming the JSON path."""
    try:
        parsed = parse_config(config)
    except SelectionError as exc:
        raise SelectionRunError(str(exc), path=exc.path) from None
    if parsed.n_samples is not None and parsed.n_samples > _MAX_N_SAMPLES:
        raise SelectionRunError(
            "n_samples: must be a whole number below 2^63 (ask for at most as many samples "
            "as there are candidates).",
            path="n_samples",
        )
    return parsed


# ----------------------------------------------------------------------------- resolution


@dataclass
class ResolvedInputs:
    """What the config refers to, found in the database (cheap to compute at start)."""

    spaces: dict[str | None, EmbeddingSpace] = field(default_factory=dict)
    tasks: dict[str, AnnotationTask] = field(default_factory=dict)
    # query key -> (dataset of the query tag, tag, space the query vectors come from)
    queries: dict[Any, tuple[Dataset, Tag, EmbeddingSpace]] = field(default_factory=dict)
    objects: Any = None  # an object-level run: its ``runs.objects.ObjectPlan``


def candidate_queryset(
    dataset: Dataset, sample_filter: SampleFilter, preselected: Tag | None
) -> QuerySet[Sample]:
    """The filtered samples plus the pre-selected tag's samples (unordered)."""
    try:
        base = filter_samples(dataset, sample_filter)
    except FilterError as exc:
        raise SelectionRunError(str(exc), path="candidate_filter") from None
    if preselected is None:
        return base
    in_pre = Exists(TagSample.objects.filter(sample=OuterRef("pk"), tag=preselected))
    if sample_filter.is_empty:
        return base
    return Sample.objects.filter(dataset=dataset).filter(Q(pk__in=base.values("pk")) | in_pre)


def option_tag(dataset: Dataset, name: str | None, parameter: str) -> Tag | None:
    if not name:
        return None
    tag = Tag.objects.filter(dataset=dataset, name=name).first()
    if tag is None:
        raise SelectionRunError(
            f"{parameter}: no tag named {name!r} in dataset {dataset.name!r}.", path=parameter
        )
    return tag


def _space_for(dataset: Dataset, name: str | None, path: str) -> EmbeddingSpace:
    spaces = list(EmbeddingSpace.objects.filter(dataset=dataset).order_by("name"))
    if name is not None:
        for space in spaces:
            if space.name == name:
                return space
        known = ", ".join(s.name for s in spaces) or "none"
        raise SelectionRunError(
            f"{path}: dataset {dataset.name!r} has no embedding space {name!r} (known: {known}).",
            path=path,
        )
    if not spaces:
        raise SelectionRunError(
            f"{path}: dataset {dataset.name!r} has no embeddings; import them first.", path=path
        )
    if len(spaces) > 1:
        names = ", ".join(s.name for s in spaces)
        raise SelectionRunError(
            f"{path}: dataset {dataset.name!r} has several embedding spaces ({names}); "
            "name one in input.embedding.",
            path=path,
        )
    return spaces[0]


def _meta_values(candidates: QuerySet[Sample], key: str, limit: int) -> list[Any]:
    rows = (
        candidates.filter(metadata__has_key=key)
        .annotate(_v=KeyTransform(key, "metadata"))
        .values_list("_v", flat=True)[:limit]
    )
    return list(rows)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_COMPARISONS = {"SMALLER": "lt", "SMALLER_EQUAL": "lte", "BIGGER": "gt", "BIGGER_EQUAL": "gte"}


def threshold_passing(config: SelectionConfig, candidates: QuerySet[Sample]) -> QuerySet[Sample]:
    """The candidates that pass every THRESHOLD of ``config`` (a missing value fails), as the
    engine applies them before any other strategy sees the candidates."""
    passing = candidates
    for number, spec in enumerate(s for s in config.strategies if s.type == "THRESHOLD"):
        lookup = _COMPARISONS.get(str(spec.operation), "gte")
        threshold = float(spec.threshold)  # type: ignore[arg-type]
        inp = spec.input
        if inp.type == "METADATA":
            alias = f"_threshold_{number}"
            passing = passing.alias(**{alias: KeyTransform(str(inp.key), "metadata")}).filter(
                **{f"{alias}__{lookup}": threshold}
            )
        elif inp.type == "SCORES":
            scores = Score.objects.filter(
                sample=OuterRef("pk"),
                task=str(inp.task),
                name=str(inp.score),
                **{f"value__{lookup}": threshold},
            )
            passing = passing.filter(Exists(scores))
    return passing


def _check_metadata(
    spec: StrategySpec, candidates: QuerySet[Sample], passing: QuerySet[Sample]
) -> None:
    key = str(spec.input.key)
    path = f"{spec.path}.input.key"
    values = [v for v in _meta_values(candidates, key, _TYPE_SAMPLE) if v is not None]
    if not values:
        raise SelectionRunError(
            f"{path}: no candidate has a value for metadata key {key!r}.", path=path
        )
    if spec.type == "BALANCE":
        bad = next((v for v in values if not isinstance(v, str)), None)
        if bad is not None:
            raise SelectionRunError(
                f"{path}: BALANCE needs string metadata, but {key!r} holds {bad!r}.", path=path
            )
        return
    bad = next((v for v in values if not is_number(v)), None)
    if bad is not None:
        raise SelectionRunError(
            f"{path}: {spec.type} needs numeric metadata, but {key!r} holds {bad!r}.", path=path
        )
    if spec.type == "WEIGHTS":  # only the candidates the THRESHOLDs keep need a value
        missing = passing.exclude(metadata__has_key=key).count()
        if missing:
            raise SelectionRunError(
                f"{path}: {missing} candidate(s) have no value for metadata key {key!r}; "
                "narrow the candidates or use a THRESHOLD first.",
                path=path,
            )


def _check_scores(spec: StrategySpec, dataset: Dataset, passing: QuerySet[Sample]) -> None:
    task, name = str(spec.input.task), str(spec.input.score)
    path = f"{spec.path}.input"
    scores = Score.objects.filter(sample__dataset=dataset, task=task, name=name)
    if not scores.exists():
        raise SelectionRunError(
            f"{path}: dataset {dataset.name!r} has no score {name!r} for task {task!r}.",
            path=path,
        )
    if spec.type == "WEIGHTS":
        has = Exists(Score.objects.filter(sample=OuterRef("pk"), task=task, name=name))
        missing = passing.exclude(has).count()
        if missing:
            raise SelectionRunError(
                f"{path}: {missing} candidate(s) have no score {task}/{name}.", path=path
            )


def _task_for(spec: StrategySpec, dataset: Dataset) -> AnnotationTask:
    task_name = str(spec.input.task)
    path = f"{spec.path}.input.task"
    task = AnnotationTask.objects.filter(dataset=dataset, name=task_name).first()
    if task is None:
        known = ", ".join(
            AnnotationTask.objects.filter(dataset=dataset).values_list("name", flat=True)
        )
        raise SelectionRunError(
            f"{path}: dataset {dataset.name!r} has no prediction task {task_name!r} "
            f"(known: {known or 'none'}).",
            path=path,
        )
    if not Annotation.objects.filter(task=task).exists():
        raise SelectionRunError(f"{path}: task {task_name!r} has no predictions.", path=path)
    return task


def _query_dataset(dataset: Dataset, name: str | None, user: Any, path: str) -> Dataset:
    if name is None or name in (dataset.name, str(dataset.pk)):
        return dataset
    visible = datasets_visible_to(user) if user is not None else Dataset.objects.all()
    found = visible.filter(name=name).first()
    if found is None and name.isdigit():
        found = visible.filter(pk=int(name)).first()
    if found is None:
        raise SelectionRunError(f"{path}: no dataset named {name!r}.", path=path)
    return found


def _check_query(
    spec: StrategySpec, dataset: Dataset, space: EmbeddingSpace, user: Any
) -> tuple[Dataset, Tag, EmbeddingSpace]:
    path = f"{spec.path}.input.tag_name"
    qdataset = _query_dataset(
        dataset, spec.input.dataset, user, f"{spec.path}.input.{spec.input.dataset_key}"
    )
    tag = Tag.objects.filter(dataset=qdataset, name=spec.input.tag_name).first()
    if tag is None:
        raise SelectionRunError(
            f"{path}: no tag named {spec.input.tag_name!r} in dataset {qdataset.name!r}.",
            path=path,
        )
    qspace = space
    if qdataset.pk != dataset.pk:
        qspace = _space_for(qdataset, space.name, f"{spec.path}.input.embedding")
        if qspace.dimension != space.dimension:
            raise SelectionRunError(
                f"{path}: the query vectors have dimension {qspace.dimension}, "
                f"the candidates' space has {space.dimension}.",
                path=path,
            )
    members = np.fromiter(
        TagSample.objects.filter(tag=tag).values_list("sample_id", flat=True), dtype=np.int64
    )
    if len(members) == 0:
        raise SelectionRunError(f"{path}: the query tag {tag.name!r} is empty.", path=path)
    ids = embedding_space_load(qspace).sample_ids
    if not np.isin(members, ids).any():
        raise SelectionRunError(
            f"{path}: no sample of the query tag {tag.name!r} has a vector in space "
            f"{qspace.name!r}.",
            path=path,
        )
    return qdataset, tag, qspace


def resolve_inputs(
    *, dataset: Dataset, config: SelectionConfig, candidates: QuerySet[Sample], user: Any = None
) -> ResolvedInputs:
    """Check that everything ``config`` refers to exists for these candidates.

    Raises :class:`SelectionRunError` naming the JSON path. Value-level problems that need every
    candidate's value (e.g. a negative weight) are left to the engine at run time.
    """
    resolved = ResolvedInputs()
    passing = threshold_passing(config, candidates)  # lazy: counted only for WEIGHTS
    for spec in config.strategies:
        inp = spec.input
        if inp.type == "EMBEDDINGS":
            if inp.embedding not in resolved.spaces:
                space = _space_for(dataset, inp.embedding, f"{spec.path}.input.embedding")
                resolved.spaces[inp.embedding] = space
            space = resolved.spaces[inp.embedding]
            if inp.query_key is not None and inp.query_key not in resolved.queries:
                resolved.queries[inp.query_key] = _check_query(spec, dataset, space, user)
        elif inp.type == "METADATA":
            _check_metadata(spec, candidates, passing)
        elif inp.type == "SCORES":
            _check_scores(spec, dataset, passing)
        elif inp.type == "PREDICTIONS" and str(inp.task) not in resolved.tasks:
            resolved.tasks[str(inp.task)] = _task_for(spec, dataset)
    return resolved


def engine_config(config: SelectionConfig, resolved: ResolvedInputs) -> SelectionConfig:
    """``config`` with every EMBEDDINGS input naming its resolved space (the stored snapshot
    keeps what the user wrote); the parsed object, not parsed again."""
    if resolved.objects is not None:  # object-level: the task's object space
        name = resolved.objects.space_name
    elif None not in resolved.spaces:
        return config
    else:
        name = resolved.spaces[None].name
    strategies = tuple(
        replace(spec, input=replace(spec.input, embedding=name))
        if spec.input.type == "EMBEDDINGS" and spec.input.embedding is None
        else spec
        for spec in config.strategies
    )
    return replace(config, strategies=strategies)


check_metadata_input = _check_metadata  # object-level runs check image metadata alike
