"""What a dataset offers the strategy builder: embedding spaces, metadata keys (numeric and
string), score task/score pairs, prediction tasks with their classes, and tags; and the
defaults a new row takes from them (:func:`new_row`, :func:`fill_defaults`).

Reads only. Metadata keys are gathered from a bounded sample of rows (``METADATA_SCAN``) so the
builder stays fast on large datasets; nested metadata objects become dotted keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from curation.builder.rows import BuilderState, Row, score_option
from curation.models import AnnotationTask, Dataset, EmbeddingSpace, Sample, Score, Tag

METADATA_SCAN = 2000
MAX_CLASSES = 60


@dataclass
class BuilderChoices:
    embeddings: list[str] = field(default_factory=list)
    numeric_metadata: list[str] = field(default_factory=list)
    string_metadata: dict[str, list[str]] = field(default_factory=dict)
    scores: list[tuple[str, str]] = field(default_factory=list)
    prediction_tasks: dict[str, list[str]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    from_dataset: bool = True
    dataset_id: int | None = None  # the rows are checked against it (builder.dataset_checks)
    dataset_name: str = ""

    @property
    def score_options(self) -> list[tuple[str, str]]:
        """``(option value, label)`` pairs for the score select."""
        return [(score_option(t, s), f"{t} · {s}") for t, s in self.scores]

    def classes_for(self, row_input: str, key: str) -> list[str]:
        """Known classes for a BALANCE row: a prediction task's categories or the values of a
        string metadata key."""
        if row_input == "PREDICTIONS":
            return list(self.prediction_tasks.get(key, []))
        return list(self.string_metadata.get(key, []))

    def with_current(self, state: BuilderState) -> BuilderChoices:
        """A copy that also lists every value the rows already use, so a preset or pasted config
        naming something this dataset lacks still shows it (validation then says so)."""
        copy = BuilderChoices(
            embeddings=list(self.embeddings),
            numeric_metadata=list(self.numeric_metadata),
            string_metadata={k: list(v) for k, v in self.string_metadata.items()},
            scores=list(self.scores),
            prediction_tasks={k: list(v) for k, v in self.prediction_tasks.items()},
            tags=list(self.tags),
            from_dataset=self.from_dataset,
            dataset_id=self.dataset_id,
            dataset_name=self.dataset_name,
        )
        for row in state.rows:
            if row.embedding and row.embedding not in copy.embeddings:
                copy.embeddings.append(row.embedding)
            if row.tag_name and row.tag_name not in copy.tags:
                copy.tags.append(row.tag_name)
            if row.score_task and (row.score_task, row.score_name) not in copy.scores:
                copy.scores.append((row.score_task, row.score_name))
            if row.metadata_key:
                if row.metadata_kind == "string":
                    copy.string_metadata.setdefault(row.metadata_key, [])
                elif row.metadata_key not in copy.numeric_metadata:
                    copy.numeric_metadata.append(row.metadata_key)
            if row.pred_task:
                copy.prediction_tasks.setdefault(row.pred_task, [])
        return copy


def fill_defaults(row: Row, choices: BuilderChoices) -> Row:
    """Pick the dataset's first fitting choice for fields a fresh row leaves empty."""
    if row.input == "EMBEDDINGS" and not row.embedding and len(choices.embeddings) > 1:
        row.embedding = choices.embeddings[0]
    if row.input == "SCORES" and not row.score_task and choices.scores:
        row.score_task, row.score_name = choices.scores[0]
    if row.input == "METADATA" and not row.metadata_key:
        keys = (
            list(choices.string_metadata)
            if row.metadata_kind == "string"
            else choices.numeric_metadata
        )
        if keys:
            row.metadata_key = keys[0]
    if row.input == "PREDICTIONS" and not row.pred_task and choices.prediction_tasks:
        tasks = list(choices.prediction_tasks)
        predictions = [t for t in tasks if t != "ground_truth"]
        row.pred_task = (predictions or tasks)[0]
    return row


def new_row(choices: BuilderChoices, existing: list[Row]) -> Row:
    """A sensible next row: diversity first, then weights on a score (or metadata, or random)."""
    if not existing:
        return fill_defaults(Row(), choices)
    if choices.scores:
        row = Row(strategy="WEIGHTS", input="SCORES")
    elif choices.numeric_metadata:
        row = Row(strategy="WEIGHTS", input="METADATA")
    else:
        row = Row(strategy="WEIGHTS", input="RANDOM")
    return fill_defaults(row, choices)


def builder_choices(dataset: Dataset | None) -> BuilderChoices:
    """The choices of ``dataset``; without a dataset every list is empty (free text)."""
    if dataset is None:
        return BuilderChoices(from_dataset=False)
    embeddings = list(
        EmbeddingSpace.objects.filter(dataset=dataset)
        .order_by("name")
        .values_list("name", flat=True)
    )
    scores = [
        (task, name)
        for task, name in Score.objects.filter(sample__dataset=dataset)
        .values_list("task", "name")
        .distinct()
        .order_by("task", "name")
    ]
    tasks = {
        t.name: [str(c) for c in t.categories][:MAX_CLASSES]
        for t in AnnotationTask.objects.filter(dataset=dataset).order_by("name")
    }
    numeric, strings = metadata_keys(
        Sample.objects.filter(dataset=dataset)
        .order_by("pk")
        .values_list("metadata", flat=True)[:METADATA_SCAN]
    )
    tags = list(Tag.objects.filter(dataset=dataset).order_by("name").values_list("name", flat=True))
    return BuilderChoices(
        embeddings=embeddings,
        numeric_metadata=numeric,
        string_metadata=strings,
        scores=scores,
        prediction_tasks=tasks,
        tags=tags,
        dataset_id=dataset.pk,
        dataset_name=dataset.name,
    )


def flatten_metadata(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"weather": {"description": "sunny"}}`` -> ``{"weather.description": "sunny"}``."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            out.update(flatten_metadata(item, name + "."))
        else:
            out[name] = item
    return out


def metadata_keys(rows: Iterable[Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Numeric keys, and string keys with their (first ``MAX_CLASSES``) values, sorted."""
    numeric: set[str] = set()
    strings: dict[str, set[str]] = {}
    for metadata in rows:
        if not isinstance(metadata, Mapping):
            continue
        for key, value in flatten_metadata(metadata).items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                numeric.add(key)
            elif isinstance(value, str):
                values = strings.setdefault(key, set())
                if len(values) < MAX_CLASSES:
                    values.add(value)
    return sorted(numeric), {k: sorted(v) for k, v in sorted(strings.items())}
