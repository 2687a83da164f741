"""Builders for object-level tests: images with sizes (and real pixels when asked), a detection
task with boxes, and object embeddings files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from curation.models import Annotation, AnnotationTask, Dataset, Sample
from curation.storage.embeddings import embedding_space_store

TASK = "my_object_detections"
LABELS = ("car", "person", "bus")


def populate_objects(
    dataset: Dataset,
    *,
    images: int = 12,
    per_image: int = 3,
    width: int = 64,
    height: int = 48,
    task_name: str = TASK,
) -> tuple[list[int], AnnotationTask, list[int]]:
    """``images`` samples (``img_0000.jpg`` ...) with ``per_image`` + (i % 2) boxes each in
    task ``task_name``; returns (sample ids, task, annotation ids by pk)."""
    Sample.objects.bulk_create(
        [
            Sample(
                dataset=dataset,
                file_name=f"img_{i:04d}.jpg",
                width=width,
                height=height,
                metadata={"weather.description": ("sunny", "rainy")[i % 2], "index": i},
            )
            for i in range(images)
        ]
    )
    ids = list(Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
    task = AnnotationTask.objects.create(
        dataset=dataset, name=task_name, kind="detection", categories=list(LABELS)
    )
    rng = np.random.default_rng(5)
    rows = []
    for i, pk in enumerate(ids):
        for j in range(per_image + i % 2):
            w, h = int(rng.integers(4, 20)), int(rng.integers(4, 16))
            x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
            rows.append(
                Annotation(
                    sample_id=pk,
                    task=task,
                    label=LABELS[(i + j) % 3],
                    x=x,
                    y=y,
                    w=w,
                    h=h,
                    score=float(rng.uniform(0.1, 1.0)),
                )
            )
    Annotation.objects.bulk_create(rows)
    ann_ids = list(Annotation.objects.filter(task=task).order_by("pk").values_list("pk", flat=True))
    return ids, task, ann_ids


def object_space(
    dataset: Dataset, task: AnnotationTask, ann_ids: list[int], dim: int = 6, seed: int = 1
) -> np.ndarray:
    """Store random object vectors for ``ann_ids`` as ``objects:<task>``; returns the matrix."""
    matrix = np.random.default_rng(seed).normal(size=(len(ann_ids), dim)).astype(np.float32)
    embedding_space_store(
        dataset=dataset,
        name=f"objects:{task.name}",
        matrix=matrix,
        sample_ids=np.asarray(ann_ids),
        normalize=False,
        task=task,
        source={"kind": "imported"},
    )
    return matrix


def write_pixels(root: Path, dataset: Dataset) -> None:
    """A real image (a colour gradient with noise) for every sample, under ``root``."""
    rng = np.random.default_rng(9)
    for sample in Sample.objects.filter(dataset=dataset):
        assert sample.width and sample.height
        pixels = rng.integers(0, 256, size=(sample.height, sample.width, 3), dtype=np.uint8)
        path = root / sample.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, format="PNG")
