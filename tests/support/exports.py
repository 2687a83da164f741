"""A tagged dataset to export (a pytest plugin loaded by ``tests/conftest.py``): four images,
COCO boxes, metadata and embeddings imported, three of them in the tag ``picked``
(fixtures ``folder`` and ``loaded``; the constants ``NAMES`` and ``COCO`` for assertions)."""

from __future__ import annotations

import numpy as np
import pytest

from curation.imports.services import dataset_import
from curation.models import Sample
from curation.tags.services import tag_create
from tests.support.ingest import lightly_csv, make_images, write_csv, write_json

NAMES = ["a.jpg", "b.jpg", "sub/c.jpg", "d.jpg"]


@pytest.fixture
def folder(tmp_path):
    return make_images(tmp_path / "images", NAMES, size=(100, 50))


COCO = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": 100, "height": 50},
        {"id": 2, "file_name": "b.jpg", "width": 100, "height": 50},
        {"id": 3, "file_name": "sub/c.jpg", "width": 100, "height": 50},
    ],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1.0, 2.0, 30.0, 20.0]},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [50.0, 5.0, 10.0, 10.0]},
        {"id": 3, "image_id": 3, "category_id": 2, "bbox": [10.0, 20.0, 40.0, 25.0]},
    ],
}


@pytest.fixture
def loaded(dataset, folder, tmp_path):
    dataset_import(
        dataset=dataset,
        images=folder,
        annotations=write_json(tmp_path / "instances.json", COCO),
        metadata=write_csv(
            tmp_path / "meta.csv", ["file_name", "split", "n"], [["a.jpg", "train", "3"]]
        ),
        embeddings=lightly_csv(
            tmp_path / "e.csv", NAMES, np.random.default_rng(0).normal(size=(4, 3))
        ),
        workers=0,
    )
    ids = dict(Sample.objects.values_list("file_name", "id"))
    return tag_create(dataset=dataset, name="picked", sample_ids=[ids[n] for n in NAMES[:3]])
