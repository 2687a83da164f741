"""The one prepare step of a selection run: parse, resolve, count — once per start and once per
execution, the same way.

``selection_run_start`` prepares what the user asked for (and refuses it, writing nothing, when
something is wrong); ``selection_run_execute`` prepares the run's stored snapshot (config,
candidate filter, option tag names) again in the worker, since the database may have changed
since the start, and hands the parsed config to the engine. An inline run (the CLI) executes the
very ``PreparedRun`` its start made.

Invariants:

- The config is parsed once (``parse_run_config``, a typed ``SelectionConfig``); the engine gets
  ``PreparedRun.engine_config`` (the same object with the default embedding space named), never
  the dict again.
- The candidate filter is parsed once: a ``SampleFilter`` is used as given, a stored dict is
  parsed here.
- The inputs are resolved once (``inputs.resolve_inputs``): candidate set, mask and pre-selected
  tags, embedding spaces, metadata keys, scores, prediction tasks and query tags.
- The checks run in one order, so a request with several problems always names the same one
  first: config, result tag name, option tags, candidate filter, counts, inputs, sequences.
  Every failure is a :class:`SelectionRunError` naming the JSON path or the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from curation.filters import FilterError, SampleFilter
from curation.models import Dataset, Sample, Tag
from curation.runs.defaults import (
    DATASET_DEFAULT,
    CandidateCounts,
    TagChoice,
    candidate_counts,
    run_option_tags,
)
from curation.runs.inputs import (
    ResolvedInputs,
    SelectionRunError,
    candidate_queryset,
    engine_config,
    option_tag,
    parse_run_config,
    resolve_inputs,
)
from curation.runs.objects import resolve_object_inputs
from curation.runs.sequences import check_sequences
from curation.selection import SelectionConfig
from curation.tags.services import TagError, objects_tag_name, tag_name_clean


@dataclass(frozen=True)
class PreparedRun:
    """Everything a run needs before its inputs are loaded, checked and resolved once."""

    dataset: Dataset
    config: SelectionConfig  # as the user wrote it (the stored snapshot parses to this)
    engine_config: SelectionConfig  # what the engine runs: the default embedding space named
    sample_filter: SampleFilter
    mask: Tag | None
    preselected: Tag | None
    candidates: QuerySet[Sample]  # filtered + pre-selected, unordered, lazy
    counts: CandidateCounts
    resolved: ResolvedInputs
    result_tag_name: str | None  # cleaned and free at start; None when not checked


def _result_tag_name(dataset: Dataset, name: str) -> str:
    try:
        name = tag_name_clean(name or "")
    except TagError as exc:  # the tag-name rules live in the tags service
        message = str(exc)
        raise SelectionRunError(
            f"result_tag_name: {message[0].lower()}{message[1:]}", path="result_tag_name"
        ) from None
    if Tag.objects.filter(dataset=dataset, name=name).exists():
        raise SelectionRunError(
            f"result_tag_name: a tag named {name!r} already exists in dataset {dataset.name!r}; "
            "choose another name.",
            path="result_tag_name",
        )
    return name


def _sample_filter(candidate_filter: SampleFilter | Mapping[str, Any] | None) -> SampleFilter:
    if candidate_filter is None:
        return SampleFilter()
    if isinstance(candidate_filter, SampleFilter):
        return candidate_filter
    try:
        return SampleFilter.parse(candidate_filter)
    except FilterError as exc:
        raise SelectionRunError(str(exc), path="candidate_filter") from None


def selection_run_prepare(
    *,
    dataset: Dataset,
    config: Any,
    user: Any,
    candidate_filter: SampleFilter | Mapping[str, Any] | None = None,
    mask_tag: TagChoice = DATASET_DEFAULT,
    preselected_tag: TagChoice = DATASET_DEFAULT,
    result_tag_name: str | None = None,
) -> PreparedRun:
    """Parse the config and the filter, find the option tags and the candidates, count them and
    resolve every input the config names; raises :class:`SelectionRunError` at the first
    problem (see the module docstring for the order). Writes nothing.

    ``candidate_filter``: a parsed ``SampleFilter`` (used as is) or a stored filter dict.
    ``mask_tag`` / ``preselected_tag``: a tag name, ``None`` for none, or ``DATASET_DEFAULT``.
    ``result_tag_name``: checked (rules, not taken yet) when given; the start passes it, the
    execution does not (there the tag's unique constraint decides).
    """
    parsed = parse_run_config(config)
    name = _result_tag_name(dataset, result_tag_name) if result_tag_name is not None else None
    sample_filter = _sample_filter(candidate_filter)
    mask_name, pre_name = run_option_tags(
        dataset=dataset, mask_tag=mask_tag, preselected_tag=preselected_tag
    )
    mask = option_tag(dataset, mask_name, "mask_tag")
    pre = option_tag(dataset, pre_name, "preselected_tag")
    candidates = candidate_queryset(dataset, sample_filter, pre)
    counts = candidate_counts(pool=candidates, mask=mask, preselected=pre)
    if counts.candidates + counts.masked == 0:
        raise SelectionRunError(
            f"candidate_filter: no sample of dataset {dataset.name!r} matches "
            f"({sample_filter.describe()}); widen the filter.",
            path="candidate_filter",
        )
    if counts.candidates == 0:
        raise SelectionRunError(
            f"mask_tag: every matching sample is in the mask tag {mask_name!r}; "
            "nothing is left to select from.",
            path="mask_tag",
        )
    if parsed.object_task is not None:  # object-level: rows are the task's boxes
        if name is not None:  # and a second tag, of the objects
            _result_tag_name(dataset, objects_tag_name(name))
        resolved = resolve_object_inputs(dataset=dataset, config=parsed, candidates=candidates)
    else:
        resolved = resolve_inputs(dataset=dataset, config=parsed, candidates=candidates, user=user)
        check_sequences(parsed, candidates)  # selected_sequence_length > 1: videos long enough
    return PreparedRun(
        dataset=dataset,
        config=parsed,
        engine_config=engine_config(parsed, resolved),
        sample_filter=sample_filter,
        mask=mask,
        preselected=pre,
        candidates=candidates,
        counts=counts,
        resolved=resolved,
        result_tag_name=name,
    )
