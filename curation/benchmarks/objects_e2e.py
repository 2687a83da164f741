"""Object-level run benchmark: a diversity run over N objects (boxes of a detection task, with an
imported N x D object space) against an image-level run over N images of the same size, both
end to end through the service. Target: object-level <= 1.5x image-level (issue 14).

Two throwaway datasets are created in the configured database and deleted afterwards; each run
goes twice and the faster counts. The object-level picks are also checked against the engine on
the object matrix (the same pick order).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import numpy as np
from django.db import connection

from curation.benchmarks.selection_e2e import _best_of, _owner
from curation.datasets.services import dataset_create, dataset_delete
from curation.db_bulk import insert_rows
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    Sample,
    SelectionRun,
    TagAnnotation,
)
from curation.runs.services import selection_run_start
from curation.selection import ArrayData, parse_config, select
from curation.storage.embeddings import embedding_space_load, embedding_space_store

TARGET_RATIO = 1.5
PER_IMAGE = 4


def _samples(dataset: Dataset, n: int) -> np.ndarray:
    insert_rows(
        Sample,
        ("dataset", "file_name", "width", "height", "thumbnail", "metadata", "created"),
        (
            (dataset.pk, f"seq/frame_{i:07d}.jpg", 640, 480, "", "{}", "2026-01-01T00:00:00Z")
            for i in range(n)
        ),
    )
    return np.fromiter(
        Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True),
        dtype=np.int64,
    )


def _build(owner: Any, n: int, dim: int) -> tuple[Dataset, Dataset, np.ndarray]:
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    images = dataset_create(name=f"bench-img-{uuid.uuid4().hex[:8]}", owner=owner)
    ids = _samples(images, n)
    embedding_space_store(dataset=images, name="default", matrix=matrix, sample_ids=ids)
    objects = dataset_create(name=f"bench-obj-{uuid.uuid4().hex[:8]}", owner=owner)
    parents = _samples(objects, n // PER_IMAGE)
    task = AnnotationTask.objects.create(
        dataset=objects, name="boxes", kind="detection", categories=["car", "person"]
    )
    insert_rows(
        Annotation,
        ("sample", "task", "label", "x", "y", "w", "h", "score"),
        (
            (int(parents[i // PER_IMAGE]), task.pk, "car", 10.0, 10.0, 30.0, 20.0, 0.9)
            for i in range(len(parents) * PER_IMAGE)
        ),
    )
    ann_ids = np.fromiter(
        Annotation.objects.filter(task=task).order_by("pk").values_list("pk", flat=True),
        dtype=np.int64,
    )
    embedding_space_store(
        dataset=objects,
        name="objects:boxes",
        matrix=matrix[: len(ann_ids)],
        sample_ids=ann_ids,
        task=task,
        source={"kind": "imported"},
    )
    return images, objects, ann_ids


def _run(dataset: Dataset, owner: Any, config: dict[str, Any], name: str) -> float:
    def work(attempt: int) -> Any:
        return selection_run_start(
            dataset=dataset,
            config=config,
            result_tag_name=f"{name}-{attempt}",
            user=owner,
            execute="inline",
        )

    seconds, run = _best_of(2, work)
    assert isinstance(run, SelectionRun) and run.status == SelectionRun.Status.SUCCEEDED, run
    return seconds


def run_objects_benchmark(stdout: Any, quick: bool) -> None:
    """Print the object-level and image-level run times and their ratio."""
    n, dim, picks = (20_000, 128, 200) if quick else (200_000, 512, 2000)
    stdout.write(
        f"Object-level vs image-level run ({connection.vendor}, {os.cpu_count()} CPUs): "
        f"{n:,} rows x {dim}-d, diversity n={picks}"
    )
    owner, _ = _owner()
    started = time.perf_counter()
    images, objects, ann_ids = _build(owner, n, dim)
    stdout.write(f"  built both datasets in {time.perf_counter() - started:.1f} s")
    try:
        image_config = {
            "n_samples": picks,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        }
        object_config = {
            "n_samples": picks,
            "strategies": [
                {
                    "input": {"type": "EMBEDDINGS", "task": "boxes"},
                    "strategy": {"type": "DIVERSITY"},
                }
            ],
        }
        image_s = _run(images, owner, image_config, "img")
        object_s = _run(objects, owner, object_config, "obj")
        space = EmbeddingSpace.all_spaces.get(dataset=objects)
        from_store = embedding_space_load(space).matrix
        engine = select(
            parse_config(object_config), ArrayData(embeddings={"objects:boxes": from_store})
        )
        picked = list(
            TagAnnotation.objects.filter(tag__dataset=objects, tag__name="obj-0-objects")
            .order_by("rank")
            .values_list("annotation_id", flat=True)
        )
        same = picked == ann_ids[engine.indices].tolist()
        ratio = object_s / image_s
        verdict = "ok" if ratio <= TARGET_RATIO else f"ABOVE the {TARGET_RATIO}x target"
        stdout.write(
            f"  object-level {object_s:6.2f} s   image-level {image_s:6.2f} s   ratio "
            f"{ratio:4.2f}x  {verdict} ({'same picks as the engine' if same else 'DIFFERENT'})"
        )
    finally:
        dataset_delete(dataset=images)
        dataset_delete(dataset=objects)
