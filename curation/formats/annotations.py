"""Annotations and predictions by format: ``read_annotation_source`` tells COCO (a dataset file
or a results list), YOLO, Lightly and classification CSVs apart and reads them into tasks.

The classification CSV is ``file_name,label[,<class>...]``: one label an image, optionally one
probability column a class. Errors name the file and the line or JSON path. Pure parsing: no
Django, no ORM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curation.formats.coco import finite_number, load_json, read_coco, read_coco_results
from curation.formats.lightly import read_lightly_predictions, read_lightly_task
from curation.formats.names import check_file_name, find_file_name_column
from curation.formats.records import CLASSIFICATION, AnnotationRecord, IngestError, TaskImport
from curation.formats.text import csv_rows, display, parse_cell
from curation.formats.yolo import read_yolo

_LABEL_COLUMNS = ("label", "labels", "category", "class")


def read_annotation_source(
    path: Path,
    *,
    task_name: str,
    is_prediction: bool,
    coco_reference: Path | None = None,
) -> list[TaskImport]:
    """Detect the format of ``path`` and read it into one or more tasks."""
    if path.is_dir():
        if (path / "data.yaml").is_file() or (path / "data.yml").is_file():
            return [read_yolo(path, task_name=task_name, is_prediction=is_prediction)]
        if (path / "schema.json").is_file():
            return [read_lightly_task(path, task_name=task_name or path.name)]
        return read_lightly_predictions(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return [read_classification_csv(path, task_name=task_name, is_prediction=is_prediction)]
    if suffix == ".json":
        data = load_json(path)
        if isinstance(data, list):
            if coco_reference is None:
                raise IngestError(
                    f"{display(path)} is a COCO results list: its image and category ids need the "
                    "COCO file they refer to (pass --annotations or --coco-reference)."
                )
            return [read_coco_results(data, path, load_json(coco_reference), task_name)]
        return [read_coco(data, path, task_name=task_name, is_prediction=is_prediction)]
    raise IngestError(
        f"{display(path)} is not an annotation format Curation reads: use a COCO .json, a "
        "classification .csv, a YOLO folder with data.yaml or a Lightly predictions folder."
    )


# -- Classification CSV ------------------------------------------------------------------------


def read_classification_csv(path: Path, *, task_name: str, is_prediction: bool) -> TaskImport:
    """``file_name,label[,<class>...]``: one label per image, optional probabilities per class."""
    source = display(path)
    with open(path, "rb") as handle:
        reader = csv_rows(handle, source)
        header = [c.strip() for c in next(reader, (1, []))[1]]
        name_column = find_file_name_column(header, source)
        label_column = next((c for c in _LABEL_COLUMNS if c in header), None)
        classes = [c for c in header if c not in (name_column, label_column, "score")]
        if label_column is None and not classes:
            raise IngestError(f"{source} needs a label column (or one probability column a class).")
        task = TaskImport(
            name=task_name,
            kind=CLASSIFICATION,
            categories=classes,
            source=source,
            is_prediction=is_prediction,
        )
        labels_seen: list[str] = []
        for line, row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise IngestError(
                    f"Line {line} of {source} has {len(row)} values but the header names "
                    f"{len(header)} columns."
                )
            cells = dict(zip(header, row, strict=True))
            name = cells[name_column].strip()
            check_file_name(name, f"Line {line} of {source}")
            probabilities = None
            if classes:
                probabilities = []
                for column in classes:
                    try:
                        value = parse_cell(cells[column])
                    except ValueError:
                        value = "nan"
                    if not finite_number(value) or value < 0:
                        raise IngestError(
                            f"Line {line}, column {column} of {source} must be a probability "
                            "(a finite number >= 0)."
                        )
                    probabilities.append(float(value))
            label = cells[label_column].strip() if label_column else ""
            if not label and probabilities is not None:
                label = classes[int(np.argmax(probabilities))]
            if not label:
                raise IngestError(f"Line {line}, column {label_column} of {source} is empty.")
            if classes and label not in classes:
                raise IngestError(
                    f"Line {line} of {source} has label {label!r}, which no probability column "
                    "names (categories missing)."
                )
            if name in task.by_name:
                raise IngestError(f"{source} lists {name!r} twice (line {line}).")
            score = max(probabilities) if probabilities else None
            task.by_name[name] = [
                AnnotationRecord(label=label, score=score, probabilities=probabilities)
            ]
            labels_seen.append(label)
    if not classes:
        task.categories = sorted(set(labels_seen), key=natural_key)
    return task


def natural_key(label: str) -> tuple[int, float | str]:
    """Sort key: numeric labels by value first ("2" before "10"), then the others by text."""
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)
