"""Builders shared by the selection-run tests: a dataset with vectors, metadata, scores and
predictions, and the engine's own answer on the same arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    Sample,
    Score,
    SelectionRun,
    Tag,
    TagSample,
)
from curation.selection import ArrayData, select
from curation.storage.embeddings import embedding_space_load, embedding_space_store

WEATHER = ("sunny", "rainy", "cloudy")


def populate(
    dataset: Dataset, n: int = 60, dim: int = 8, seed: int = 0, vectors: int | None = None
) -> list[int]:
    """``n`` samples with metadata, a score, classification predictions and a ``default``
    embedding space holding the first ``vectors`` (default all) samples. Returns ids by pk."""
    rng = np.random.default_rng(seed)
    Sample.objects.bulk_create(
        [
            Sample(
                dataset=dataset,
                file_name=f"img_{i:04d}.jpg",
                metadata={
                    "lightly.sharpness": float(rng.uniform(0, 100)),
                    "weather.description": WEATHER[i % 3],
                },
            )
            for i in range(n)
        ]
    )
    ids = list(Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
    Score.objects.bulk_create(
        [
            Score(sample_id=pk, task="model", name="uncertainty_entropy", value=float(v))
            for pk, v in zip(ids, rng.uniform(0, 1, n), strict=True)
        ]
    )
    task = AnnotationTask.objects.create(
        dataset=dataset, name="model", kind="classification", categories=["cat", "dog"]
    )
    probs = rng.dirichlet([1.0, 1.0], size=n)
    Annotation.objects.bulk_create(
        [
            Annotation(
                sample_id=pk,
                task=task,
                label="cat" if p[0] >= 0.5 else "dog",
                probabilities=[float(p[0]), float(p[1])],
            )
            for pk, p in zip(ids, probs, strict=True)
        ]
    )
    k = n if vectors is None else vectors
    matrix = rng.normal(size=(k, dim))
    embedding_space_store(
        dataset=dataset, name="default", matrix=matrix, sample_ids=np.asarray(ids[:k])
    )
    return ids


def tag_named(dataset: Dataset, name: str, ids: list[int]) -> Tag:
    tag = Tag.objects.create(dataset=dataset, name=name)
    TagSample.objects.bulk_create([TagSample(tag=tag, sample_id=i) for i in ids])
    return tag


def tag_ids(dataset: Dataset, name: str) -> set[int]:
    return set(
        TagSample.objects.filter(tag__dataset=dataset, tag__name=name).values_list(
            "sample_id", flat=True
        )
    )


def engine_picks(dataset: Dataset, config: dict[str, Any], **arrays: Any) -> list[int]:
    """The engine alone on the stored vectors of every sample (all have one): sample ids."""
    space = dataset.embedding_spaces.get(name="default")
    loaded = embedding_space_load(space)
    order = np.argsort(loaded.sample_ids)
    ids = loaded.sample_ids[order]
    data = ArrayData(embeddings={"default": np.asarray(loaded.matrix)[order]}, **arrays)
    result = select(config, data)
    return [int(ids[i]) for i in result.indices]


def diversity(n: int = 10, **strategy: Any) -> dict[str, Any]:
    return {
        "n_samples": n,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", **strategy}}
        ],
    }


def runs_and_tags(dataset: Dataset) -> tuple[int, int]:
    return (
        SelectionRun.objects.filter(dataset=dataset).count(),
        Tag.objects.filter(dataset=dataset, kind=Tag.Kind.SELECTION).count(),
    )
