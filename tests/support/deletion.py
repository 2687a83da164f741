"""Deletion fixtures (a pytest plugin loaded by ``tests/conftest.py``): ``filled``, alice's
team dataset "cats" with 10 samples, a row in every per-sample table and files on disk, next to
``private_dataset`` whose one sample (with a tag and a score) must survive any delete of
"cats"."""

from __future__ import annotations

import numpy as np
import pytest

from curation.datasets.services import dataset_media_dir
from curation.models import Annotation, AnnotationTask, Sample, Score, SelectionRun
from curation.storage.embeddings import embedding_space_store
from curation.tags.services import tag_create


@pytest.fixture
def filled(dataset, private_dataset):
    """alice's team dataset with 10 samples and a row in every per-sample table, files on disk;
    ``private_dataset`` has one sample that must survive."""
    samples = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png") for i in range(10)]
    )
    ids = [s.pk for s in samples]
    tag_create(dataset=dataset, name="train", sample_ids=ids[:7])
    task = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="classification"
    )
    Annotation.objects.bulk_create([Annotation(sample_id=i, task=task, label="cat") for i in ids])
    Score.objects.bulk_create([Score(sample_id=i, task="m", name="s", value=1.0) for i in ids])
    embedding_space_store(dataset=dataset, name="default", matrix=np.ones((10, 3)), sample_ids=ids)
    thumb = dataset_media_dir(dataset.pk) / "thumbs" / "a.jpg"
    thumb.parent.mkdir(parents=True)
    thumb.write_bytes(b"jpeg")
    SelectionRun.objects.create(
        dataset=dataset, config={}, result_tag_name="old", status=SelectionRun.Status.SUCCEEDED
    )
    keep = Sample.objects.create(dataset=private_dataset, file_name="keep.png")
    tag_create(dataset=private_dataset, name="train", sample_ids=[keep.pk])
    Score.objects.create(sample=keep, task="m", name="s", value=2.0)
    return dataset
