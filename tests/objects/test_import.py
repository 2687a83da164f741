"""Importing object embeddings: CSV and NPY keyed by file name + object index or by COCO
annotation id; bad rows refused with file and line, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curation.formats.records import IngestError
from curation.imports.objects import object_embeddings_import
from curation.models import Annotation, EmbeddingSpace
from curation.storage.embeddings import embedding_space_load
from tests.support.objects import TASK, populate_objects


def _csv(path, rows, dim=4, key="filename,object_index"):
    header = key + "," + ",".join(f"embedding_{i}" for i in range(dim))
    lines = [header] + [",".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def objects(dataset):
    return populate_objects(dataset, images=4, per_image=2)


def _by_file(ann_ids, dataset):
    out = []
    for ann in Annotation.objects.filter(pk__in=ann_ids).order_by("sample_id", "pk"):
        out.append((ann.sample.file_name, ann.pk))
    return out


def test_a_csv_keyed_by_file_name_and_index_becomes_an_object_space(dataset, objects, tmp_path):
    _, task, ann_ids = objects
    keyed = _by_file(ann_ids, dataset)
    rows, expected = [], {}
    counters: dict[str, int] = {}
    for n, (name, pk) in enumerate(keyed):
        index = counters.get(name, 0)
        counters[name] = index + 1
        vector = [n, 1, 0, 0]
        rows.append([name, index, *vector])
        expected[pk] = vector
    path = _csv(tmp_path / "objects.csv", rows)
    space = object_embeddings_import(dataset=dataset, task_name=TASK, path=path, normalize=False)
    assert space.task == task and space.name == f"objects:{TASK}" and space.count == len(rows)
    loaded = embedding_space_load(space)
    for pk, row in zip(loaded.sample_ids, loaded.matrix, strict=True):
        assert list(row) == expected[int(pk)]
    # an object space is not an image-level space
    assert not EmbeddingSpace.objects.filter(dataset=dataset).exists()
    assert EmbeddingSpace.all_spaces.filter(dataset=dataset, task=task).count() == 1


def test_npy_with_a_key_file_keyed_by_coco_annotation_ids(dataset, objects, tmp_path):
    ann_ids = objects[2]
    keyed = _by_file(ann_ids, dataset)
    images = sorted({name for name, _ in keyed})
    coco = {
        "images": [{"id": i + 1, "file_name": n} for i, n in enumerate(images)],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {
                "id": 100 + k,
                "image_id": images.index(name) + 1,
                "category_id": 1,
                "bbox": [1, 1, 2, 2],
            }
            for k, (name, _) in enumerate(keyed)
        ],
    }
    (tmp_path / "gt.json").write_text(json.dumps(coco))
    matrix = np.arange(len(keyed) * 3, dtype=np.float32).reshape(-1, 3)
    np.save(tmp_path / "vec.npy", matrix)
    order = list(range(len(keyed)))[::-1]  # rows in any order
    np.save(tmp_path / "vec.npy", matrix[order])
    (tmp_path / "vec.objects.csv").write_text(
        "annotation_id\n" + "".join(f"{100 + k}\n" for k in order)
    )
    space = object_embeddings_import(
        dataset=dataset,
        task_name=TASK,
        path=tmp_path / "vec.npy",
        coco_path=tmp_path / "gt.json",
        normalize=False,
    )
    loaded = embedding_space_load(space)
    got = dict(zip(loaded.sample_ids.tolist(), loaded.matrix.tolist(), strict=True))
    for k, (_, pk) in enumerate(keyed):
        assert got[pk] == matrix[k].tolist()


def _refused(dataset, path, **kw):
    with pytest.raises(IngestError) as caught:
        object_embeddings_import(dataset=dataset, task_name=TASK, path=path, **kw)
    assert not EmbeddingSpace.all_spaces.filter(dataset=dataset).exists()
    return str(caught.value)


def test_an_unknown_object_is_refused_with_file_and_line(dataset, objects, tmp_path):
    path = _csv(
        tmp_path / "o.csv", [["img_0000.jpg", 0, 1, 0, 0, 0], ["img_0000.jpg", 9, 0, 1, 0, 0]]
    )
    assert _refused(dataset, path) == (
        f"o.csv line 3: unknown object 9 of img_0000.jpg (task {TASK!r} has 2 box(es) there, "
        "numbered from 0)."
    )


def test_an_unknown_annotation_id_is_refused(dataset, objects, tmp_path):
    coco = {
        "images": [{"id": 1, "file_name": "img_0000.jpg"}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}],
    }
    (tmp_path / "gt.json").write_text(json.dumps(coco))
    path = _csv(tmp_path / "o.csv", [[5, 1, 0, 0, 0], [77, 0, 1, 0, 0]], key="annotation_id")
    message = _refused(dataset, path, coco_path=tmp_path / "gt.json")
    assert (
        message == "o.csv line 3: unknown annotation id 77 (the COCO file has no box with that id)."
    )


@pytest.mark.parametrize(
    ("box", "problem"),
    [
        ((60, 10, 10, 10), "box (60, 10, 10, 10) lies outside its 64x48 image"),
        ((5, 5, 0, 7), "box (5, 5, 0, 7) has zero area"),
    ],
)
def test_bad_boxes_are_refused_with_file_and_line(dataset, objects, tmp_path, box, problem):
    first = Annotation.objects.filter(sample__file_name="img_0001.jpg").order_by("pk").first()
    x, y, w, h = box
    Annotation.objects.filter(pk=first.pk).update(x=x, y=y, w=w, h=h)
    path = _csv(
        tmp_path / "o.csv", [["img_0000.jpg", 0, 1, 0, 0, 0], ["img_0001.jpg", 0, 0, 1, 0, 0]]
    )
    assert _refused(dataset, path) == (
        f"o.csv line 3: object 0 of img_0001.jpg: {problem}; fix or drop the box."
    )


def test_a_repeated_object_and_a_missing_key_column_are_refused(dataset, objects, tmp_path):
    path = _csv(
        tmp_path / "o.csv", [["img_0000.jpg", 0, 1, 0, 0, 0], ["img_0000.jpg", 0, 0, 1, 0, 0]]
    )
    assert _refused(dataset, path) == (
        "o.csv line 3 repeats object 0 of img_0000.jpg (first on line 2): one vector per object."
    )
    path = _csv(tmp_path / "p.csv", [["img_0000.jpg", 1, 0, 0, 0]], key="filename")
    assert _refused(dataset, path).startswith("p.csv line 1 must name the object of each row")


def test_an_image_level_task_is_refused(dataset, objects, tmp_path):
    path = _csv(tmp_path / "o.csv", [["img_0000.jpg", 0, 1, 0, 0, 0]])
    with pytest.raises(IngestError) as caught:
        object_embeddings_import(dataset=dataset, task_name="nope", path=path)
    assert str(caught.value) == f"task: dataset 'cats' has no task 'nope' (known: {TASK})."
