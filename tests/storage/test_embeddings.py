from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import DatabaseError

from curation.datasets.services import dataset_delete
from curation.models import EmbeddingSpace, Sample
from curation.storage.embeddings import (
    EmbeddingError,
    embedding_files_sweep,
    embedding_paths,
    embedding_space_load,
    embedding_space_store,
)
from tests.support.db_faults import refusing_writes


@pytest.fixture
def samples(dataset):
    return Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png") for i in range(4)]
    )


def _files() -> list[Path]:
    root = Path(settings.CURATION_EMBEDDINGS_ROOT)
    return sorted(root.rglob("*")) if root.exists() else []


def test_store_and_memory_mapped_load(dataset, samples):
    matrix = np.arange(12, dtype=np.float64).reshape(4, 3)
    ids = np.array([s.pk for s in samples])
    space = embedding_space_store(
        dataset=dataset, name="default", matrix=matrix, sample_ids=ids, normalize=False
    )
    loaded = embedding_space_load(space)
    assert isinstance(loaded.matrix, np.memmap)
    assert loaded.matrix.dtype == np.float32
    np.testing.assert_array_equal(loaded.matrix, matrix.astype(np.float32))
    np.testing.assert_array_equal(loaded.sample_ids, ids)
    assert (space.count, space.dimension, space.normalized) == (4, 3, False)


def test_vectors_are_unit_normalised_by_default(dataset, samples):
    matrix = np.array([[3.0, 4.0], [0.0, 2.0], [1.0, 0.0], [0.0, 0.0]])
    space = embedding_space_store(
        dataset=dataset, name="default", matrix=matrix, sample_ids=[s.pk for s in samples]
    )
    loaded = embedding_space_load(space).matrix
    np.testing.assert_allclose(loaded[0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(loaded[3], [0.0, 0.0])  # a zero vector stays zero


def test_a_failure_between_file_write_and_db_commit_leaves_neither(dataset, samples):
    ids = [s.pk for s in samples]
    with (
        refusing_writes(EmbeddingSpace, "disk full"),
        pytest.raises(DatabaseError),
    ):
        embedding_space_store(
            dataset=dataset, name="default", matrix=np.ones((4, 2)), sample_ids=ids
        )
    assert not EmbeddingSpace.objects.exists()
    assert [p for p in _files() if p.is_file()] == []


def test_replacing_a_space_removes_the_old_files_on_commit(
    dataset, samples, django_capture_on_commit_callbacks
):
    ids = [s.pk for s in samples]
    with django_capture_on_commit_callbacks(execute=True):
        first = embedding_space_store(
            dataset=dataset, name="default", matrix=np.ones((4, 2)), sample_ids=ids
        )
    old_paths = embedding_paths(first)
    with django_capture_on_commit_callbacks(execute=True):
        second = embedding_space_store(
            dataset=dataset, name="default", matrix=np.ones((4, 5)), sample_ids=ids
        )
    assert second.pk == first.pk and second.dimension == 5
    assert not any(p.exists() for p in old_paths)
    assert all(p.exists() for p in embedding_paths(second))


@pytest.mark.parametrize(
    ("matrix", "ids", "message"),
    [
        (np.ones((4, 2)), [1, 2, 3], "4 embedding rows but 3 sample ids"),
        (np.array([[1.0, np.nan]] * 4), [1, 2, 3, 4], "row 0 contains NaN"),
        (np.ones(4), [1, 2, 3, 4], "must be 2-D"),
        (np.ones((4, 2)), [1, 1, 2, 3], "appears twice"),
    ],
)
def test_invalid_matrices_are_refused_and_nothing_is_written(dataset, matrix, ids, message):
    with pytest.raises(EmbeddingError, match=message):
        embedding_space_store(dataset=dataset, name="x", matrix=matrix, sample_ids=ids)
    assert not EmbeddingSpace.objects.exists()
    assert [p for p in _files() if p.is_file()] == []


def test_sweep_removes_files_no_row_names(dataset, samples):
    space = embedding_space_store(
        dataset=dataset, name="default", matrix=np.ones((4, 2)), sample_ids=[s.pk for s in samples]
    )
    orphan = embedding_paths(space)[0].with_name("deadbeef.npy")
    orphan.write_bytes(b"x")
    assert embedding_files_sweep() == 1
    assert not orphan.exists()
    assert all(p.exists() for p in embedding_paths(space))


def test_deleting_a_dataset_deletes_its_files(dataset, samples, django_capture_on_commit_callbacks):
    space = embedding_space_store(
        dataset=dataset, name="default", matrix=np.ones((4, 2)), sample_ids=[s.pk for s in samples]
    )
    paths = embedding_paths(space)
    with django_capture_on_commit_callbacks(execute=True):
        dataset_delete(dataset=dataset)
    assert not any(p.exists() for p in paths)
    assert not Sample.objects.exists()


def test_deleting_a_dataset_removes_every_dependent_row_and_spares_others(
    dataset, private_dataset, samples, django_capture_on_commit_callbacks
):
    from curation.models import Annotation, AnnotationTask, Score, TagSample
    from curation.tags.services import tag_create

    task = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="classification"
    )
    Annotation.objects.create(sample=samples[0], task=task, label="cat")
    Score.objects.create(sample=samples[0], task="m", name="s", value=1.0)
    tag_create(dataset=dataset, name="t", sample_ids=[s.pk for s in samples])
    other = Sample.objects.create(dataset=private_dataset, file_name="keep.png")
    tag_create(dataset=private_dataset, name="t", sample_ids=[other.pk])
    with django_capture_on_commit_callbacks(execute=True):
        dataset_delete(dataset=dataset)
    assert list(Sample.objects.values_list("file_name", flat=True)) == ["keep.png"]
    assert not Annotation.objects.exists() and not Score.objects.exists()
    assert list(TagSample.objects.values_list("sample__file_name", flat=True)) == ["keep.png"]
