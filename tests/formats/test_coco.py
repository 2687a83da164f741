"""The COCO reader alone (no database): tasks from dataset files and results lists, errors that
name the file and the JSON path."""

from __future__ import annotations

import pytest

from curation.formats.coco import load_json, read_coco, read_coco_results
from curation.formats.records import AnnotationRecord, IngestError
from tests.support.ingest import write_json

COCO = {
    "images": [{"id": 10, "file_name": "a.jpg"}, {"id": 11, "file_name": "sub/b.jpg"}],
    "categories": [{"id": 2, "name": "dog"}, {"id": 1, "name": "cat"}],
    "annotations": [
        {"image_id": 10, "category_id": 1, "bbox": [1, 2, 30, 20]},
        {"image_id": 10, "category_id": 2, "bbox": [5, 5, 1.5, 2.5], "score": 0.25},
    ],
}


def test_a_coco_file_is_one_detection_task_with_categories_in_id_order(tmp_path):
    path = write_json(tmp_path / "coco.json", COCO)
    task = read_coco(load_json(path), path, task_name="ground_truth", is_prediction=False)
    assert (task.name, task.kind, task.source) == ("ground_truth", "detection", "coco.json")
    assert task.categories == ["cat", "dog"]
    assert task.by_name == {
        "a.jpg": [
            AnnotationRecord("cat", 1.0, 2.0, 30.0, 20.0),
            AnnotationRecord("dog", 5.0, 5.0, 1.5, 2.5, score=0.25),
        ],
        "sub/b.jpg": [],
    }
    assert task.described["sub/b.jpg"] == "image id 11 (sub/b.jpg)"


def test_a_coco_file_without_boxes_is_a_classification_task(tmp_path):
    data = {**COCO, "annotations": [{"image_id": 11, "category_id": 2}]}
    task = read_coco(data, tmp_path / "c.json", task_name="t", is_prediction=False)
    assert task.kind == "classification"
    assert task.by_name["sub/b.jpg"] == [AnnotationRecord("dog")]


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (
            {"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1]},
            "annotations[0] of coco.json refers to image id 99, which 'images' lacks.",
        ),
        (
            {"image_id": 10, "category_id": 7, "bbox": [0, 0, 1, 1]},
            "annotations[0] of coco.json uses category id 7, which the categories of coco.json "
            "do not list.",
        ),
        (
            {"image_id": 10, "category_id": 1, "bbox": [0, 0, -1, 1]},
            "annotations[0] of coco.json has a negative box width or height ([0, 0, -1, 1]).",
        ),
    ],
)
def test_coco_errors_name_the_json_path(tmp_path, annotation, message):
    data = {**COCO, "annotations": [annotation]}
    with pytest.raises(IngestError) as caught:
        read_coco(data, tmp_path / "coco.json", task_name="t", is_prediction=False)
    assert str(caught.value) == message


def test_a_results_list_is_a_prediction_task_read_against_its_reference(tmp_path):
    results = [{"image_id": 11, "category_id": 2, "bbox": [1, 1, 2, 2], "score": 0.5}]
    task = read_coco_results(results, tmp_path / "res.json", COCO, "model-a")
    assert (task.name, task.kind, task.is_prediction) == ("model-a", "detection", True)
    assert task.by_name == {
        "a.jpg": [],
        "sub/b.jpg": [AnnotationRecord("dog", 1.0, 1.0, 2.0, 2.0, score=0.5)],
    }
    with pytest.raises(IngestError) as caught:
        read_coco_results([{**results[0], "score": None}], tmp_path / "res.json", COCO, "m")
    assert str(caught.value) == "result 0 of res.json needs a finite score."


def test_load_json_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"images": [}')
    with pytest.raises(IngestError, match=r"^bad\.json is not valid JSON \(Expecting value: "):
        load_json(path)
    path.write_bytes(b'{"a": "x\\u0000y"}')
    with pytest.raises(IngestError) as caught:
        load_json(path)
    assert str(caught.value) == "bad.json holds a NUL character (\\u0000): remove it."
