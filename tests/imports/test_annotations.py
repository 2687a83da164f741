"""Annotations and predictions: COCO, COCO results, YOLO, Lightly predictions, classification
CSV; scores computed from predictions; errors all-or-nothing."""

from __future__ import annotations

import numpy as np
import pytest

from curation.imports.scores import classification_scores
from curation.imports.services import IngestError, dataset_import
from curation.models import Annotation, AnnotationTask, Sample, Score
from tests.support.ingest import (
    assert_nothing_written,
    make_images,
    write_csv,
    write_json,
)

NAMES = ["a.jpg", "b.jpg", "sub/c.jpg"]
SIZE = (100, 50)


@pytest.fixture
def folder(tmp_path):
    return make_images(tmp_path / "images", NAMES, size=SIZE)


def coco(annotations=None, images=None, categories=None) -> dict:
    return {
        "images": images
        or [
            {"id": 10, "file_name": "a.jpg", "width": 100, "height": 50},
            {"id": 11, "file_name": "b.jpg", "width": 100, "height": 50},
            {"id": 12, "file_name": "c.jpg", "width": 100, "height": 50},  # bare name of sub/c
        ],
        "categories": categories
        or [{"id": 2, "name": "dog"}, {"id": 1, "name": "cat"}, {"id": 3, "name": "bird"}],
        "annotations": annotations
        if annotations is not None
        else [
            {"id": 1, "image_id": 10, "category_id": 1, "bbox": [1, 2, 30, 20]},
            {"id": 2, "image_id": 10, "category_id": 2, "bbox": [50, 5, 10, 10]},
            {"id": 3, "image_id": 12, "category_id": 3, "bbox": [0, 0, 5.5, 6.5]},
        ],
    }


def boxes(task: str = "ground_truth") -> list[tuple]:
    return sorted(
        Annotation.objects.filter(task__name=task).values_list(
            "sample__file_name", "label", "x", "y", "w", "h", "score"
        )
    )


def scores(task: str) -> dict[tuple[str, str], float]:
    return {
        (file_name, name): value
        for file_name, name, value in Score.objects.filter(task=task).values_list(
            "sample__file_name", "name", "value"
        )
    }


def test_coco_ground_truth_lands_as_detections_in_category_id_order(dataset, folder, tmp_path):
    path = write_json(tmp_path / "instances.json", coco())
    summary = dataset_import(dataset=dataset, images=folder, annotations=path, workers=0)

    task = AnnotationTask.objects.get(dataset=dataset)
    assert (task.name, task.kind, task.categories) == (
        "ground_truth",
        "detection",
        ["cat", "dog", "bird"],
    )
    assert boxes() == [
        ("a.jpg", "cat", 1.0, 2.0, 30.0, 20.0, None),
        ("a.jpg", "dog", 50.0, 5.0, 10.0, 10.0, None),
        ("sub/c.jpg", "bird", 0.0, 0.0, 5.5, 6.5, None),
    ]
    assert summary.annotations == {"ground_truth": 3}
    assert not Score.objects.exists()  # ground truth has no active-learning scores


def test_reimporting_annotations_replaces_instead_of_duplicating(dataset, folder, tmp_path):
    path = write_json(tmp_path / "instances.json", coco())
    dataset_import(dataset=dataset, images=folder, annotations=path, workers=0)
    dataset_import(dataset=dataset, images=folder, annotations=path, workers=0)
    assert Annotation.objects.count() == 3
    fewer = coco(annotations=[{"id": 1, "image_id": 10, "category_id": 3, "bbox": [0, 0, 1, 1]}])
    dataset_import(dataset=dataset, annotations=write_json(tmp_path / "v2.json", fewer))
    assert boxes() == [("a.jpg", "bird", 0.0, 0.0, 1.0, 1.0, None)]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            coco(
                images=[{"id": 10, "file_name": "a.jpg"}, {"id": 99, "file_name": "zzz.jpg"}],
                annotations=[{"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1]}],
            ),
            "1 file name(s) in instances.json match no image of the dataset: image id 99 (zzz.jpg)",
        ),
        (
            coco(annotations=[{"image_id": 10, "category_id": 7, "bbox": [0, 0, 1, 1]}]),
            "annotations[0] of instances.json uses category id 7, which the categories",
        ),
        (
            coco(annotations=[{"image_id": 555, "category_id": 1, "bbox": [0, 0, 1, 1]}]),
            "annotations[0] of instances.json refers to image id 555",
        ),
        (
            coco(annotations=[{"image_id": 10, "category_id": 1, "bbox": [0, 0, 1]}]),
            "has bbox [0, 0, 1]",
        ),
        ({"images": [], "annotations": []}, "instances.json has no categories"),
    ],
)
def test_coco_errors_name_the_place_and_write_nothing(dataset, folder, tmp_path, document, message):
    path = write_json(tmp_path / "instances.json", document)
    with pytest.raises(IngestError) as error:
        dataset_import(dataset=dataset, images=folder, annotations=path, workers=0)
    assert message in str(error.value)
    assert_nothing_written(dataset)


def test_coco_results_become_a_named_prediction_task_with_objectness(dataset, folder, tmp_path):
    reference = write_json(tmp_path / "instances.json", coco())
    results = write_json(
        tmp_path / "results.json",
        [
            {"image_id": 10, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9},
            {"image_id": 10, "category_id": 2, "bbox": [5, 6, 7, 8], "score": 0.5},
            {"image_id": 12, "category_id": 3, "bbox": [0, 0, 2, 2], "score": 0.2},
        ],
    )
    dataset_import(
        dataset=dataset,
        images=folder,
        annotations=reference,
        predictions=[results],
        prediction_task="yolo-v8",
        workers=0,
    )
    task = AnnotationTask.objects.get(name="yolo-v8")
    assert (task.kind, task.categories) == ("detection", ["cat", "dog", "bird"])
    assert len(boxes("yolo-v8")) == 3
    assert scores("yolo-v8") == pytest.approx(
        {
            ("a.jpg", "objectness_least_confidence"): 1 - 0.7,
            ("b.jpg", "objectness_least_confidence"): 0.0,  # no boxes
            ("sub/c.jpg", "objectness_least_confidence"): 0.8,
        }
    )


def test_coco_results_need_their_reference(dataset, folder, tmp_path):
    results = write_json(tmp_path / "results.json", [])
    with pytest.raises(IngestError, match=r"COCO results list"):
        dataset_import(dataset=dataset, images=folder, predictions=[results], workers=0)
    assert_nothing_written(dataset)


def test_predictions_cannot_be_named_ground_truth(dataset, folder, tmp_path):
    path = write_json(tmp_path / "p.json", coco())
    with pytest.raises(IngestError, match=r"cannot use the task name 'ground_truth'"):
        dataset_import(dataset=dataset, predictions=[path], prediction_task="ground_truth")


# -- YOLO -------------------------------------------------------------------------------------


@pytest.mark.parametrize("names", ["[cat, dog]", "\n  0: cat\n  1: dog"])
def test_yolo_labels_become_pixel_boxes(dataset, folder, tmp_path, names):
    yolo = tmp_path / "yolo"
    (yolo / "labels" / "sub").mkdir(parents=True)
    (yolo / "data.yaml").write_text(f"path: .\ntrain: images\nnames: {names}\n")
    (yolo / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.1 0.1\n")
    (yolo / "labels" / "sub" / "c.txt").write_text("\n1 0.25 0.75 0.5 0.5\n")
    (yolo / "labels" / "b.txt").write_text("")

    dataset_import(dataset=dataset, images=folder, annotations=yolo, workers=0)

    task = AnnotationTask.objects.get(name="ground_truth")
    assert task.categories == ["cat", "dog"]
    expected = [
        ("a.jpg", "cat", 40.0, 15.0, 20.0, 20.0),
        ("a.jpg", "dog", 5.0, 2.5, 10.0, 5.0),
        ("sub/c.jpg", "dog", 0.0, 25.0, 50.0, 25.0),
    ]
    got = boxes()
    assert [row[:2] for row in got] == [row[:2] for row in expected]
    for row, want in zip(got, expected, strict=True):
        assert row[2:6] == pytest.approx(want[2:])


def test_yolo_predictions_keep_confidence_and_get_scores(dataset, folder, tmp_path):
    yolo = tmp_path / "preds"
    (yolo / "labels").mkdir(parents=True)
    (yolo / "data.yaml").write_text("names: [cat]\n")
    (yolo / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4 0.6\n")
    dataset_import(
        dataset=dataset, images=folder, predictions=[yolo], prediction_task="det", workers=0
    )
    assert boxes("det")[0][-1] == pytest.approx(0.6)
    assert scores("det")[("a.jpg", "objectness_least_confidence")] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.2\n", "line 1 of labels/a.txt has 4 values"),
        ("5 0.5 0.5 0.2 0.2\n", "line 1 of labels/a.txt uses class 5, which data.yaml does not"),
        ("0 0.5 nan 0.2 0.2\n", "line 1 of labels/a.txt holds NaN or infinite values"),
    ],
)
def test_yolo_errors_name_file_and_line(dataset, folder, tmp_path, line, message):
    yolo = tmp_path / "yolo"
    (yolo / "labels").mkdir(parents=True)
    (yolo / "data.yaml").write_text("names: [cat, dog]\n")
    (yolo / "labels" / "a.txt").write_text(line)
    with pytest.raises(IngestError) as error:
        dataset_import(dataset=dataset, images=folder, annotations=yolo, workers=0)
    assert message in str(error.value)
    assert_nothing_written(dataset)


def test_yolo_labels_for_unknown_images_are_refused(dataset, folder, tmp_path):
    yolo = tmp_path / "yolo"
    (yolo / "labels").mkdir(parents=True)
    (yolo / "data.yaml").write_text("names: [cat]\n")
    (yolo / "labels" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(IngestError, match=r"1 file name.*match no image of the dataset: ghost"):
        dataset_import(dataset=dataset, images=folder, annotations=yolo, workers=0)
    assert_nothing_written(dataset)


# -- Lightly predictions ----------------------------------------------------------------------


def lightly_predictions(root, task, task_type, predictions_by_file):
    categories = [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}, {"id": 2, "name": "fox"}]
    write_json(root / task / "schema.json", {"task_type": task_type, "categories": categories})
    for file_name, predictions in predictions_by_file.items():
        stem = file_name.rsplit(".", 1)[0]
        write_json(
            root / task / f"{stem}.json", {"file_name": file_name, "predictions": predictions}
        )


def test_lightly_classification_predictions_get_the_three_scores(dataset, folder, tmp_path):
    probabilities = {"a.jpg": [0.8, 0.1, 0.1], "b.jpg": [1 / 3] * 3, "sub/c.jpg": [0.0, 1.0, 0.0]}
    lightly_predictions(
        tmp_path / "predictions",
        "classifier",
        "classification",
        {
            n: [{"category_id": int(np.argmax(p)), "probabilities": p}]
            for n, p in probabilities.items()
        },
    )
    write_json(tmp_path / "predictions" / "tasks.json", ["classifier"])

    dataset_import(
        dataset=dataset, images=folder, predictions=[tmp_path / "predictions"], workers=0
    )

    task = AnnotationTask.objects.get(name="classifier")
    assert (task.kind, task.categories) == ("classification", ["cat", "dog", "fox"])
    labels = dict(Annotation.objects.values_list("sample__file_name", "label"))
    assert labels == {"a.jpg": "cat", "b.jpg": "cat", "sub/c.jpg": "dog"}
    expected = classification_scores(np.array(list(probabilities.values())))
    got = scores("classifier")
    for name, values in expected.items():
        for file_name, value in zip(probabilities, values, strict=True):
            assert got[(file_name, name)] == pytest.approx(value)
    assert got[("b.jpg", "uncertainty_entropy")] == pytest.approx(1.0)
    assert got[("sub/c.jpg", "uncertainty_margin")] == pytest.approx(0.0)


def test_lightly_detection_scores_are_the_max_over_boxes(dataset, folder, tmp_path):
    lightly_predictions(
        tmp_path / "predictions",
        "detector",
        "object-detection",
        {
            "a.jpg": [
                {"category_id": 0, "bbox": [0, 0, 5, 5], "score": 0.9,
                 "probabilities": [0.9, 0.05, 0.05]},
                {"category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.4,
                 "probabilities": [0.3, 0.4, 0.3]},
            ],
            "b.jpg": [],
        },
    )  # fmt: skip
    dataset_import(
        dataset=dataset, images=folder, predictions=[tmp_path / "predictions"], workers=0
    )
    got = scores("detector")
    per_box = classification_scores(np.array([[0.9, 0.05, 0.05], [0.3, 0.4, 0.3]]))
    assert got[("a.jpg", "uncertainty_entropy")] == pytest.approx(
        per_box["uncertainty_entropy"].max()
    )
    assert got[("b.jpg", "uncertainty_entropy")] == 0.0
    assert got[("a.jpg", "objectness_least_confidence")] == pytest.approx(1 - 0.65)
    assert ("sub/c.jpg", "uncertainty_entropy") not in got  # no prediction file for it


def test_lightly_probabilities_must_match_the_categories(dataset, folder, tmp_path):
    lightly_predictions(
        tmp_path / "p", "clf", "classification", {"a.jpg": [{"probabilities": [0.5, 0.5]}]}
    )
    with pytest.raises(IngestError, match=r"has 2 probabilities but the schema names 3 categories"):
        dataset_import(dataset=dataset, images=folder, predictions=[tmp_path / "p"], workers=0)
    assert_nothing_written(dataset)


# -- classification CSV -----------------------------------------------------------------------


def test_classification_csv_with_probability_columns(dataset, folder, tmp_path):
    path = write_csv(
        tmp_path / "preds.csv",
        ["file_name", "label", "cat", "dog"],
        [["a.jpg", "cat", "0.7", "0.3"], ["b.jpg", "", "0.2", "0.8"]],
    )
    dataset_import(
        dataset=dataset, images=folder, predictions=[path], prediction_task="clf", workers=0
    )
    task = AnnotationTask.objects.get(name="clf")
    assert task.categories == ["cat", "dog"]
    assert dict(Annotation.objects.values_list("sample__file_name", "label")) == {
        "a.jpg": "cat",
        "b.jpg": "dog",
    }
    assert scores("clf")[("a.jpg", "uncertainty_margin")] == pytest.approx(1 - 0.4)


def test_classification_csv_as_ground_truth_without_probabilities(dataset, folder, tmp_path):
    path = write_csv(tmp_path / "gt.csv", ["filename", "label"], [["a.jpg", "10"], ["b.jpg", "9"]])
    dataset_import(dataset=dataset, images=folder, annotations=path, workers=0)
    assert AnnotationTask.objects.get(name="ground_truth").categories == ["9", "10"]


def test_classification_csv_label_outside_the_probability_columns(dataset, folder, tmp_path):
    path = write_csv(tmp_path / "p.csv", ["file_name", "label", "cat"], [["a.jpg", "emu", "1"]])
    with pytest.raises(IngestError, match=r"Line 2 of p.csv has label 'emu'.*categories missing"):
        dataset_import(dataset=dataset, images=folder, predictions=[path], prediction_task="x")
    assert_nothing_written(dataset)


def test_a_task_keeps_its_kind(dataset, folder, tmp_path):
    dataset_import(
        dataset=dataset,
        images=folder,
        annotations=write_json(tmp_path / "instances.json", coco()),
        workers=0,
    )
    path = write_csv(tmp_path / "gt.csv", ["file_name", "label"], [["a.jpg", "cat"]])
    with pytest.raises(IngestError, match=r"holds detection annotations, but gt.csv has classif"):
        dataset_import(dataset=dataset, annotations=path)
    assert Annotation.objects.count() == 3
    assert Sample.objects.count() == 3
