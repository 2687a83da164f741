"""The YOLO reader alone (no database): class names from data.yaml, normalised boxes keyed by
label path, errors that name the file and the line."""

from __future__ import annotations

import pytest

from curation.formats.records import AnnotationRecord, IngestError
from curation.formats.yolo import read_yolo, yolo_class_names


def yolo_folder(root, names="[cat, dog]", labels=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text(f"names: {names}\n")
    for name, text in (labels or {}).items():
        path = root / "labels" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_yolo_lines_become_normalised_boxes_keyed_by_label_path(tmp_path):
    folder = yolo_folder(
        tmp_path / "yolo",
        labels={"train/a.txt": "1 0.5 0.5 0.2 0.4\n\n0 0.1 0.1 0.2 0.2 0.75\n", "b.txt": ""},
    )
    task = read_yolo(folder, task_name="ground_truth", is_prediction=False)
    assert (task.kind, task.categories, task.match_by_stem) == ("detection", ["cat", "dog"], True)
    assert task.by_name["b"] == []
    first, second = task.by_name["train/a"]
    assert first == AnnotationRecord("dog", 0.4, 0.3, 0.2, 0.4, normalized=True)
    assert second.label == "cat" and second.score == 0.75 and second.normalized
    assert second.x == pytest.approx(0.0) and second.w == pytest.approx(0.2)


def test_class_names_may_be_a_numbered_mapping(tmp_path):
    folder = yolo_folder(tmp_path / "y", names="{0: cat, 1: dog}")
    assert yolo_class_names(folder / "data.yaml") == ["cat", "dog"]
    (folder / "data.yaml").write_text("names: {0: cat, 2: dog}\n")
    with pytest.raises(IngestError) as caught:
        yolo_class_names(folder / "data.yaml")
    assert str(caught.value) == "The names of data.yaml must be numbered 0, 1, 2, ..."


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "0 0.5 0.5 0.2",
            "line 2 of labels/a.txt has 4 values: YOLO lines are 'class x_center y_center "
            "width height [confidence]'.",
        ),
        (
            "5 0.5 0.5 0.2 0.2",
            "line 2 of labels/a.txt uses class 5, which data.yaml does not name (2 classes).",
        ),
        ("0 nan 0.5 0.2 0.2", "line 2 of labels/a.txt holds NaN or infinite values."),
    ],
)
def test_yolo_errors_name_the_file_and_the_line(tmp_path, line, message):
    folder = yolo_folder(tmp_path / "y", labels={"a.txt": f"0 0.5 0.5 0.1 0.1\n{line}\n"})
    with pytest.raises(IngestError) as caught:
        read_yolo(folder, task_name="t", is_prediction=True)
    assert str(caught.value) == message
