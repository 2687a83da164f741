"""Fixtures shared by the browsing view tests (a pytest plugin loaded by ``tests/conftest.py``):
images on disk (``image_root``), ``samples`` with metadata and annotations, a ``train_tag``, an
embedding ``space`` and charlie's ``outsider_dataset``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from curation.browse.maps import projection_schedule
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample
from curation.storage.embeddings import embedding_space_store


@pytest.fixture
def image_root(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    return folder


@pytest.fixture
def samples(dataset: Dataset, image_root: Path) -> list[Sample]:
    """Twelve 40x30 images: cat_00..05 (sharpness 10..60, split train/test), dog_06..11."""
    dataset.image_root = str(image_root)
    dataset.save(update_fields=["image_root"])
    rows = []
    for i in range(12):
        name = f"{'cat' if i < 6 else 'dog'}_{i:02d}.png"
        Image.new("RGB", (40, 30), (i * 20, 100, 100)).save(image_root / name)
        rows.append(
            Sample(
                dataset=dataset,
                file_name=name,
                width=40 if i % 2 == 0 else 80,
                height=30,
                metadata={
                    "lightly.sharpness": 10.0 * (i + 1),
                    "split": "train" if i % 3 else "test",
                    "night": i % 4 == 0,
                },
            )
        )
    created = Sample.objects.bulk_create(rows)
    task = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="detection", categories=["cat", "dog"]
    )
    predictions = AnnotationTask.objects.create(
        dataset=dataset, name="detector", kind="classification", categories=["cat", "dog"]
    )
    Annotation.objects.bulk_create(
        [
            Annotation(sample=s, task=task, label="cat" if i < 6 else "dog", x=2, y=3, w=20, h=10)
            for i, s in enumerate(created)
        ]
        + [
            Annotation(
                sample=s,
                task=predictions,
                label="cat",
                score=0.8,
                probabilities=[0.8, 0.2],
            )
            for s in created
        ]
    )
    return created


@pytest.fixture
def train_tag(dataset: Dataset, samples: list[Sample], alice) -> Tag:
    tag = Tag.objects.create(dataset=dataset, name="train", created_by=alice)
    TagSample.objects.bulk_create([TagSample(tag=tag, sample=s) for s in samples[:4]])
    return tag


@pytest.fixture
def space(dataset: Dataset, samples: list[Sample]):
    """A "default" space over ``samples`` with its map, as an import leaves it."""
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(len(samples), 8)).astype(np.float32)
    matrix[1] = matrix[0] + 0.01  # sample 1 is sample 0's nearest neighbour
    stored = embedding_space_store(
        dataset=dataset,
        name="default",
        matrix=matrix,
        sample_ids=np.array([s.pk for s in samples]),
    )
    projection_schedule(space=stored)
    return stored


@pytest.fixture
def outsider_dataset(charlie, tmp_path) -> Dataset:
    folder = tmp_path / "outsider"
    folder.mkdir()
    Image.new("RGB", (10, 10)).save(folder / "secret.png")
    dataset = Dataset.objects.create(name="secret", owner=charlie, image_root=str(folder))
    Sample.objects.create(dataset=dataset, file_name="secret.png", width=10, height=10)
    return dataset


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)
