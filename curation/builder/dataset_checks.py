"""What the builder's rows name that the dataset lacks, reported before a run starts.

Validation (``curation.builder.validation``) checks a config on its own; on a dataset's builder
and selection dialog the rows are also checked against the dataset: an embedding space, query
tag, score, metadata key, prediction task or BALANCE class that the dataset does not have is an
error next to its field (``"<row>.<field>"``), as the run would refuse it at start. A name the
bounded scan of :func:`curation.builder.choices.builder_choices` did not see is looked up in the
database before it is reported, so a key only the later rows carry is never refused. Without a
dataset (a preset edited on its own) nothing is checked. Reads only.
"""

from __future__ import annotations

from django.db.models.fields.json import KeyTransform

from curation.builder.choices import BuilderChoices
from curation.builder.rows import BuilderState, Row
from curation.models import AnnotationTask, Sample

_SHOWN = 8  # known names listed in a message


def _known(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN]) + (", …" if len(names) > _SHOWN else "")
    return f" (known: {shown})" if names else " (it has none)"


def _has_metadata_key(dataset_id: int, key: str) -> bool:
    return Sample.objects.filter(dataset_id=dataset_id, metadata__has_key=key).exists()


def _has_metadata_value(dataset_id: int, key: str, value: str) -> bool:
    rows = Sample.objects.filter(dataset_id=dataset_id).alias(_v=KeyTransform(key, "metadata"))
    return rows.filter(_v=value).exists()


def _task_classes(dataset_id: int, task: str) -> list[str] | None:
    found = AnnotationTask.objects.filter(dataset_id=dataset_id, name=task).first()
    return None if found is None else [str(c) for c in found.categories]


def _row_errors(row: Row, choices: BuilderChoices, name: str, dataset_id: int) -> dict[str, str]:
    errors: dict[str, str] = {}
    of = f"dataset {name!r}"
    if row.input == "EMBEDDINGS":
        if row.embedding and row.embedding not in choices.embeddings:
            errors["embedding"] = (
                f"{of} has no embedding space {row.embedding!r}{_known(choices.embeddings)}"
            )
        other_dataset = {"dataset", "dataset_id"} & set(row.extra_input)
        query = row.strategy == "SIMILARITY" and row.tag_name and not other_dataset
        if query and row.tag_name not in choices.tags:
            errors["tag_name"] = f"{of} has no tag {row.tag_name!r}"
    elif row.input == "SCORES" and (row.score_task or row.score_name):
        if (row.score_task, row.score_name) not in choices.scores:
            pairs = [f"{t}/{s}" for t, s in choices.scores]
            errors["score"] = (
                f"{of} has no score {row.score_name!r} for task {row.score_task!r}{_known(pairs)}"
            )
    elif row.input == "METADATA" and row.metadata_key:
        key = row.metadata_key
        seen = key in choices.numeric_metadata or key in choices.string_metadata
        if not seen and not _has_metadata_key(dataset_id, key):
            keys = sorted({*choices.numeric_metadata, *choices.string_metadata})
            errors["metadata_key"] = f"no sample of {of} has the metadata key {key!r}{_known(keys)}"
        elif row.strategy == "BALANCE":
            known = choices.string_metadata.get(key, [])
            unknown = [
                c
                for c, _ in row.target
                if c not in known and not _has_metadata_value(dataset_id, key, c)
            ]
            if unknown:
                errors["target"] = (
                    f"no sample of {of} has {key} = {unknown[0]!r}{_known(list(known))}"
                )
    elif row.input == "PREDICTIONS" and row.pred_task:
        classes = _task_classes(dataset_id, row.pred_task)
        if classes is None:
            tasks = list(choices.prediction_tasks)
            errors["pred_task"] = f"{of} has no prediction task {row.pred_task!r}{_known(tasks)}"
        elif row.strategy == "BALANCE" and classes:
            unknown = [c for c, _ in row.target if c not in classes]
            if unknown:
                errors["target"] = (
                    f"class {unknown[0]!r} is not a class of task {row.pred_task!r}"
                    f"{_known(classes)}"
                )
    return errors


def dataset_errors(state: BuilderState, choices: BuilderChoices) -> dict[str, str]:
    """``{"<row>.<field>": message}`` for every name the rows use that the dataset lacks."""
    if not choices.from_dataset or choices.dataset_id is None:
        return {}
    errors: dict[str, str] = {}
    for i, row in enumerate(state.rows):
        for name, message in _row_errors(
            row, choices, choices.dataset_name, choices.dataset_id
        ).items():
            errors[f"{i}.{name}"] = message
    return errors
