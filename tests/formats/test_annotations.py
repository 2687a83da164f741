"""The annotation dispatcher and the classification CSV alone (no database): which reader a
path gets, labels and probabilities per file name, errors that name the file and the line."""

from __future__ import annotations

import pytest

from curation.formats.annotations import (
    natural_key,
    read_annotation_source,
    read_classification_csv,
)
from curation.formats.records import AnnotationRecord, IngestError
from tests.support.ingest import write_csv, write_json

COCO = {
    "images": [{"id": 1, "file_name": "a.jpg"}],
    "categories": [{"id": 1, "name": "cat"}],
    "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]}],
}


def test_classification_csv_with_probability_columns(tmp_path):
    path = write_csv(
        tmp_path / "p.csv", ["file_name", "cat", "dog"], [["a.jpg", 0.2, 0.8], ["b.jpg", 1, 0]]
    )
    task = read_classification_csv(path, task_name="m", is_prediction=True)
    assert (task.kind, task.categories, task.source) == ("classification", ["cat", "dog"], "p.csv")
    assert task.by_name == {
        "a.jpg": [AnnotationRecord("dog", score=0.8, probabilities=[0.2, 0.8])],
        "b.jpg": [AnnotationRecord("cat", score=1.0, probabilities=[1.0, 0.0])],
    }


def test_classification_csv_labels_give_the_categories_in_natural_order(tmp_path):
    path = write_csv(tmp_path / "l.csv", ["filename", "label"], [["a.jpg", "10"], ["b.jpg", "2"]])
    task = read_classification_csv(path, task_name="ground_truth", is_prediction=False)
    assert task.categories == ["2", "10"]
    assert task.by_name["a.jpg"] == [AnnotationRecord("10")]
    assert sorted(["b", "10", "a", "2"], key=natural_key) == ["2", "10", "a", "b"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [["a.jpg", "cat", "x"]],
            "Line 2, column p of l.csv must be a probability (a finite number >= 0).",
        ),
        ([["a.jpg", "", "0.5"], ["a.jpg", "p", "1"]], "l.csv lists 'a.jpg' twice (line 3)."),
        ([["../a.jpg", "p", "1"]], None),
    ],
)
def test_classification_csv_errors_name_the_line(tmp_path, rows, message):
    path = write_csv(tmp_path / "l.csv", ["file_name", "label", "p"], rows)
    with pytest.raises(IngestError) as caught:
        read_classification_csv(path, task_name="t", is_prediction=False)
    if message is None:
        assert str(caught.value).startswith("Line 2 of l.csv: the file name '../a.jpg' ")
    else:
        assert str(caught.value) == message


def test_the_source_decides_the_reader(tmp_path):
    coco = write_json(tmp_path / "coco.json", COCO)
    (task,) = read_annotation_source(coco, task_name="ground_truth", is_prediction=False)
    assert task.by_name == {"a.jpg": [AnnotationRecord("cat", 0.0, 0.0, 2.0, 2.0)]}
    results = write_json(
        tmp_path / "res.json", [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]
    )
    with pytest.raises(IngestError) as caught:
        read_annotation_source(results, task_name="m", is_prediction=True)
    assert str(caught.value) == (
        "res.json is a COCO results list: its image and category ids need the COCO file they "
        "refer to (pass --annotations or --coco-reference)."
    )
    (task,) = read_annotation_source(
        results, task_name="m", is_prediction=True, coco_reference=coco
    )
    assert task.by_name["a.jpg"][0].score == 1.0
    (tmp_path / "yolo").mkdir()
    (tmp_path / "yolo" / "data.yaml").write_text("names: [cat]\n")
    (task,) = read_annotation_source(tmp_path / "yolo", task_name="y", is_prediction=False)
    assert task.match_by_stem
    with pytest.raises(IngestError, match=r"^x\.xml is not an annotation format Curation reads"):
        read_annotation_source(tmp_path / "x.xml", task_name="t", is_prediction=False)
