"""Object embeddings computed from the crops: the crop is the box (plus padding) pixels, the
vectors are the built-in embedder's, cached and recomputed when a box changes; the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from curation.embeddings.embedders import descriptors_reduce, image_descriptor
from curation.embeddings.objects import (
    CropSettings,
    object_crop,
    object_crop_box,
    object_embeddings_compute,
    object_space_current,
    object_space_stale,
)
from curation.models import Annotation, EmbeddingSpace
from curation.storage.embeddings import embedding_space_load
from tests.support.objects import TASK, populate_objects, write_pixels


@pytest.fixture
def pixels(dataset, tmp_path):
    _ids, task, ann_ids = populate_objects(dataset, images=5, per_image=2)
    root = tmp_path / "images"
    write_pixels(root, dataset)
    dataset.image_root = str(root)
    dataset.save()
    return root, task, ann_ids


def test_a_crop_is_exactly_the_box_plus_padding(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    image = Image.fromarray(array)
    box = (10.0, 8.0, 20.0, 10.0)
    assert object_crop_box(box, image.size, 0.0) == (10, 8, 30, 18)
    assert np.array_equal(np.asarray(object_crop(image, box, 0.0)), array[8:18, 10:30])
    # 10% padding: 2 px left/right, 1 px top/bottom
    assert np.array_equal(np.asarray(object_crop(image, box, 0.1)), array[7:19, 8:32])
    # clipped at the image border, fractional boxes rounded outwards
    assert object_crop_box((45.5, -2.0, 10.0, 5.0), image.size, 0.0) == (45, 0, 50, 3)


def test_computed_vectors_are_the_builtin_embedder_on_the_crops(dataset, pixels):
    root, task, ann_ids = pixels
    space = object_embeddings_compute(task=task, settings=CropSettings(padding=0.2))
    assert space.task == task and space.name == f"crops:{TASK}"
    assert space.source["kind"] == "computed" and space.source["padding"] == 0.2
    loaded = embedding_space_load(space)
    assert sorted(loaded.sample_ids.tolist()) == sorted(ann_ids)
    descriptors = []
    for pk in loaded.sample_ids.tolist():
        ann = Annotation.objects.select_related("sample").get(pk=pk)
        with Image.open(root / ann.sample.file_name) as opened:
            image = opened.convert("RGB")
        crop = object_crop(image, (ann.x, ann.y, ann.w, ann.h), 0.2)
        descriptors.append(image_descriptor(crop))
    expected = descriptors_reduce(np.stack(descriptors))
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(loaded.matrix, expected, atol=1e-5)


def test_small_boxes_get_no_vector(dataset, pixels):
    _, task, ann_ids = pixels
    Annotation.objects.filter(pk=ann_ids[0]).update(w=2, h=2)
    space = object_embeddings_compute(task=task, settings=CropSettings(min_size=3))
    assert ann_ids[0] not in embedding_space_load(space).sample_ids.tolist()
    assert space.count == len(ann_ids) - 1


def test_the_cached_space_is_recomputed_when_a_box_changes(dataset, pixels):
    _, task, ann_ids = pixels
    first = object_space_current(task=task)
    again = object_space_current(task=task)
    assert again.storage_key == first.storage_key  # cached
    Annotation.objects.filter(pk=ann_ids[3]).update(x=1)
    assert object_space_stale(EmbeddingSpace.all_spaces.get(pk=first.pk))
    fresh = object_space_current(task=task)
    assert fresh.pk == first.pk and fresh.storage_key != first.storage_key
    assert not object_space_stale(fresh)


def test_import_dataset_computes_object_embeddings(dataset, pixels, capsys):
    call_command(
        "import_dataset",
        "cats",
        "--compute-object-embeddings",
        "--task",
        TASK,
        "--crop-padding",
        "0",
        "--min-object-size",
        "2",
    )
    space = EmbeddingSpace.all_spaces.get(name=f"crops:{TASK}")
    assert space.source["padding"] == 0.0 and space.source["min_size"] == 2
    assert f"Object embeddings: {space.count} objects x" in capsys.readouterr().out


def test_import_dataset_imports_object_embeddings_and_refuses_bad_rows(dataset, pixels, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("filename,object_index,embedding_0,embedding_1\nimg_0000.jpg,0,1,2\n")
    call_command("import_dataset", "cats", "--object-embeddings", str(path), "--task", TASK)
    assert EmbeddingSpace.all_spaces.get(name=f"objects:{TASK}").count == 1
    path.write_text("filename,object_index,embedding_0,embedding_1\nimg_0000.jpg,7,1,2\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_dataset", "cats", "--object-embeddings", str(path), "--task", TASK)
    assert str(caught.value).startswith("error: o.csv line 2: unknown object 7 of img_0000.jpg")
    with pytest.raises(CommandError, match="--task NAME"):
        call_command("import_dataset", "cats", "--object-embeddings", str(path))
