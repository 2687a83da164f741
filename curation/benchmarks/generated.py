"""Rows the benchmark suites generate inside PostgreSQL (``generate_series``), shared by the
``pages`` and ``scale`` suites: ground-truth labels and "every k-th sample" tags."""

from __future__ import annotations

from typing import Any

from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample


def ground_truth_labels_add(*, cursor: Any, dataset: Dataset, classes: int = 10) -> None:
    """A ``ground_truth`` classification per sample: label ``id % classes``."""
    task = AnnotationTask.objects.create(
        dataset=dataset,
        name="ground_truth",
        kind="classification",
        categories=[str(i) for i in range(classes)],
    )
    cursor.execute(
        f"""
        INSERT INTO {Annotation._meta.db_table} (sample_id, task_id, label)
        SELECT id, %s, (id %% %s)::text FROM {Sample._meta.db_table} WHERE dataset_id = %s
        """,  # noqa: S608 (table names from the models)
        [task.pk, classes, dataset.pk],
    )


def modulo_tag_add(*, cursor: Any, dataset: Dataset, name: str, modulo: int) -> Tag:
    """A tag holding the samples whose id is a multiple of ``modulo``."""
    tag = Tag.objects.create(dataset=dataset, name=name)
    cursor.execute(
        f"""
        INSERT INTO {TagSample._meta.db_table} (tag_id, sample_id)
        SELECT %s, id FROM {Sample._meta.db_table} WHERE dataset_id = %s AND id %% %s = 0
        """,  # noqa: S608
        [tag.pk, dataset.pk, modulo],
    )
    return tag
