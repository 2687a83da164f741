"""Annotations and predictions: COCO (dataset files and results lists), YOLO label folders, the
Lightly predictions folder and classification CSVs; plus active-learning scores from predictions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from curation.imports.common import (
    AnnotationRecord,
    IngestError,
    TaskImport,
    check_file_name,
    csv_rows,
    display,
    find_file_name_column,
    parse_cell,
    refuse_unstorable_text,
    text_lines,
)
from curation.imports.scores import classification_scores
from curation.models import AnnotationTask
from curation.storage.paths import is_inside

CLASSIFICATION = AnnotationTask.Kind.CLASSIFICATION.value
DETECTION = AnnotationTask.Kind.DETECTION.value
_LABEL_COLUMNS = ("label", "labels", "category", "class")
_LIGHTLY_KINDS = {"classification": CLASSIFICATION, "object-detection": DETECTION}


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
        data = _load_json(path)
        if isinstance(data, list):
            if coco_reference is None:
                raise IngestError(
                    f"{display(path)} is a COCO results list: its image and category ids need the "
                    "COCO file they refer to (pass --annotations or --coco-reference)."
                )
            return [read_coco_results(data, path, _load_json(coco_reference), task_name)]
        return [read_coco(data, path, task_name=task_name, is_prediction=is_prediction)]
    raise IngestError(
        f"{display(path)} is not an annotation format Curation reads: use a COCO .json, a "
        "classification .csv, a YOLO folder with data.yaml or a Lightly predictions folder."
    )


def _load_json(path: Path) -> Any:
    source = display(path)
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise IngestError(f"{source} is not valid UTF-8: save the file as UTF-8 text.") from None
    except RecursionError:
        raise IngestError(f"{source} is nested too deeply to be a COCO or Lightly file.") from None
    except ValueError as exc:
        raise IngestError(f"{source} is not valid JSON ({exc}).") from None
    refuse_unstorable_text(data, source)
    return data


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bbox(value: Any, where: str) -> tuple[float, float, float, float]:
    if not (isinstance(value, list) and len(value) == 4 and all(_number(v) for v in value)):
        raise IngestError(f"{where} has bbox {value!r}: it must be [x, y, width, height] numbers.")
    x, y, w, h = (float(v) for v in value)
    if w < 0 or h < 0:
        raise IngestError(f"{where} has a negative box width or height ({value!r}).")
    return x, y, w, h


# -- COCO --------------------------------------------------------------------------------------


def _coco_tables(data: Any, source: str) -> tuple[dict[int, str], list[str], dict[int, int]]:
    """(image id -> file name, category names by id order, category id -> index)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("images"), list):
        raise IngestError(f"{source} is not a COCO file: it needs an 'images' list.")
    categories = data.get("categories")
    if not isinstance(categories, list) or not categories:
        raise IngestError(f"{source} has no categories: COCO files must list them.")
    images: dict[int, str] = {}
    for index, image in enumerate(data["images"]):
        if not isinstance(image, Mapping) or "id" not in image or "file_name" not in image:
            raise IngestError(f"images[{index}] of {source} needs an id and a file_name.")
        if image["id"] in images:
            raise IngestError(f"{source} lists image id {image['id']} twice (images[{index}]).")
        images[image["id"]] = str(image["file_name"])
    pairs = []
    for index, category in enumerate(categories):
        if not isinstance(category, Mapping) or "id" not in category or "name" not in category:
            raise IngestError(f"categories[{index}] of {source} needs an id and a name.")
        pairs.append((category["id"], str(category["name"])))
    pairs.sort(key=lambda pair: pair[0])
    ids = [pair[0] for pair in pairs]
    if len(set(ids)) != len(ids):
        raise IngestError(f"{source} lists a category id twice.")
    names = [pair[1] for pair in pairs]
    if len(set(names)) != len(names):
        raise IngestError(f"{source} lists a category name twice.")
    return images, names, {cid: i for i, cid in enumerate(ids)}


def _category(cat_index: dict[int, int], value: Any, where: str, source: str) -> int:
    if value not in cat_index:
        raise IngestError(
            f"{where} uses category id {value!r}, which the categories of {source} do not list."
        )
    return cat_index[value]


def read_coco(data: Any, path: Path, *, task_name: str, is_prediction: bool) -> TaskImport:
    source = display(path)
    images, names, cat_index = _coco_tables(data, source)
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise IngestError(f"'annotations' of {source} must be a list.")
    by_id: dict[Any, list[AnnotationRecord]] = {image_id: [] for image_id in images}
    has_boxes = False
    for index, ann in enumerate(annotations):
        where = f"annotations[{index}] of {source}"
        if not isinstance(ann, Mapping):
            raise IngestError(f"{where} must be an object.")
        image_id = ann.get("image_id")
        if image_id not in by_id:
            raise IngestError(f"{where} refers to image id {image_id!r}, which 'images' lacks.")
        label = names[_category(cat_index, ann.get("category_id"), where, source)]
        score = ann.get("score")
        if score is not None and not _number(score):
            raise IngestError(f"{where} has a score that is not a finite number.")
        if "bbox" in ann:
            has_boxes = True
            x, y, w, h = _bbox(ann["bbox"], where)
            record = AnnotationRecord(label=label, x=x, y=y, w=w, h=h, score=score)
        else:
            record = AnnotationRecord(label=label, score=score)
        by_id[image_id].append(record)
    task = TaskImport(
        name=task_name,
        kind=DETECTION if has_boxes or not annotations else CLASSIFICATION,
        categories=names,
        source=source,
        is_prediction=is_prediction,
    )
    task.by_name = {images[image_id]: records for image_id, records in by_id.items()}
    task.described = {images[i]: f"image id {i} ({images[i]})" for i in images}
    return task


def read_coco_results(data: list[Any], path: Path, reference: Any, task_name: str) -> TaskImport:
    """A COCO results list ``[{image_id, category_id, bbox, score}]`` as a prediction task."""
    source = display(path)
    images, names, cat_index = _coco_tables(reference, "the COCO reference file")
    by_id: dict[Any, list[AnnotationRecord]] = {image_id: [] for image_id in images}
    for index, item in enumerate(data):
        where = f"result {index} of {source}"
        if not isinstance(item, Mapping):
            raise IngestError(f"{where} must be an object.")
        image_id = item.get("image_id")
        if image_id not in by_id:
            raise IngestError(
                f"{where} refers to image id {image_id!r}, which the COCO reference file lacks."
            )
        label = names[_category(cat_index, item.get("category_id"), where, "the reference file")]
        score = item.get("score")
        if not _number(score):
            raise IngestError(f"{where} needs a finite score.")
        assert score is not None
        x, y, w, h = _bbox(item.get("bbox"), where)
        by_id[image_id].append(
            AnnotationRecord(label=label, x=x, y=y, w=w, h=h, score=float(score))
        )
    task = TaskImport(
        name=task_name, kind=DETECTION, categories=names, source=source, is_prediction=True
    )
    task.by_name = {images[image_id]: records for image_id, records in by_id.items()}
    task.described = {images[i]: f"image id {i} ({images[i]})" for i in images}
    return task


def _check_inside(folder: Path, path: Path) -> None:
    """Files of a folder import are read only when they resolve inside the folder."""
    if not is_inside(folder, path):
        raise IngestError(
            f"{path.name} leads outside {display(folder)} (through a symlink or '..'): keep the "
            "files inside the folder."
        )
    if path.exists() and not (path.is_file() or path.is_dir()):  # a pipe blocks its reader
        raise IngestError(f"{path.name} in {display(folder)} is not a regular file.")


# -- YOLO --------------------------------------------------------------------------------------


def _yolo_names(path: Path) -> list[str]:
    import yaml  # PyYAML ships with drf-spectacular, a dependency

    try:
        config = yaml.safe_load(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise IngestError(f"{display(path)} is not valid UTF-8: save it as UTF-8 text.") from None
    except yaml.YAMLError as exc:
        raise IngestError(f"{display(path)} is not valid YAML ({exc}).") from None
    refuse_unstorable_text(config, display(path))
    names = config.get("names") if isinstance(config, Mapping) else None
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    if isinstance(names, Mapping) and names:
        ids = sorted(names)
        if ids != list(range(len(ids))):
            raise IngestError(f"The names of {display(path)} must be numbered 0, 1, 2, ...")
        return [str(names[i]) for i in ids]
    raise IngestError(f"{display(path)} lists no class names: add 'names: [cat, dog]'.")


def read_yolo(folder: Path, *, task_name: str, is_prediction: bool) -> TaskImport:
    yaml_path = folder / "data.yaml" if (folder / "data.yaml").is_file() else folder / "data.yml"
    _check_inside(folder, yaml_path)
    names = _yolo_names(yaml_path)
    labels_dir = folder / "labels" if (folder / "labels").is_dir() else folder
    task = TaskImport(
        name=task_name,
        kind=DETECTION,
        categories=names,
        source=display(folder),
        is_prediction=is_prediction,
        match_by_stem=True,
    )
    for label_file in sorted(labels_dir.rglob("*.txt")):
        relative = label_file.relative_to(labels_dir).with_suffix("").as_posix()
        _check_inside(folder, label_file)
        records = []
        with open(label_file, "rb") as handle:
            texts = list(text_lines(handle, label_file.relative_to(folder).as_posix()))
        for line, text in enumerate(texts, 1):
            parts = text.split()
            if not parts:
                continue
            where = f"line {line} of {label_file.relative_to(folder).as_posix()}"
            if len(parts) not in (5, 6):
                raise IngestError(
                    f"{where} has {len(parts)} values: YOLO lines are 'class x_center y_center "
                    "width height [confidence]'."
                )
            try:
                cls = int(parts[0])
                values = [float(v) for v in parts[1:]]
            except ValueError:
                raise IngestError(f"{where} holds a value that is not a number.") from None
            if not all(math.isfinite(v) for v in values):
                raise IngestError(f"{where} holds NaN or infinite values.")
            if not 0 <= cls < len(names):
                raise IngestError(
                    f"{where} uses class {cls}, which {yaml_path.name} does not name "
                    f"({len(names)} classes)."
                )
            cx, cy, w, h = values[:4]
            records.append(
                AnnotationRecord(
                    label=names[cls],
                    x=cx - w / 2,
                    y=cy - h / 2,
                    w=w,
                    h=h,
                    score=values[4] if len(values) == 5 else None,
                    normalized=True,
                )
            )
        task.by_name[relative] = records
    return task


# -- Lightly predictions -----------------------------------------------------------------------


def read_lightly_predictions(root: Path) -> list[TaskImport]:
    tasks_file = root / "tasks.json"
    if tasks_file.is_file():
        names = _load_json(tasks_file)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise IngestError(f"{display(tasks_file)} must be a JSON list of task names.")
    else:
        names = sorted(p.parent.name for p in root.glob("*/schema.json"))
    if not names:
        raise IngestError(
            f"{display(root)} holds no prediction tasks: expected <task>/schema.json folders "
            "(Lightly layout), a YOLO data.yaml or a COCO file."
        )
    for name in names:
        _check_inside(root, root / name)
    return [read_lightly_task(root / name, task_name=name) for name in names]


def read_lightly_task(folder: Path, *, task_name: str) -> TaskImport:
    schema_path = folder / "schema.json"
    if not schema_path.is_file():
        raise IngestError(f"Prediction task folder {folder.name} has no schema.json.")
    _check_inside(folder, schema_path)
    schema = _load_json(schema_path)
    task_type = schema.get("task_type") if isinstance(schema, Mapping) else None
    kind = _LIGHTLY_KINDS.get(str(task_type))
    if kind is None:
        raise IngestError(
            f"{folder.name}/schema.json: task_type must be classification or object-detection."
        )
    _, names, cat_index = _coco_tables(
        {"images": [], "categories": schema.get("categories")}, f"{folder.name}/schema.json"
    )
    task = TaskImport(
        name=task_name, kind=kind, categories=names, source=folder.name, is_prediction=True
    )
    for path in sorted(folder.rglob("*.json")):
        if path == schema_path:
            continue
        _check_inside(folder, path)
        source = f"{folder.name}/{path.relative_to(folder).as_posix()}"
        data = _load_json(path)
        if not isinstance(data, Mapping) or not isinstance(data.get("file_name"), str):
            raise IngestError(f"{source} needs a file_name and a predictions list.")
        predictions = data.get("predictions", [])
        if not isinstance(predictions, list):
            raise IngestError(f"predictions of {source} must be a list.")
        records = [
            _lightly_record(p, f"predictions[{i}] of {source}", kind, names, cat_index)
            for i, p in enumerate(predictions)
        ]
        if kind == CLASSIFICATION and len(records) > 1:
            raise IngestError(f"{source} has {len(records)} classification predictions, not one.")
        check_file_name(data["file_name"], source)
        if data["file_name"] in task.by_name:
            raise IngestError(f"{source} repeats predictions for {data['file_name']!r}.")
        task.by_name[data["file_name"]] = records
    return task


def _lightly_record(
    item: Any, where: str, kind: str, names: list[str], cat_index: dict[int, int]
) -> AnnotationRecord:
    if not isinstance(item, Mapping):
        raise IngestError(f"{where} must be an object.")
    probabilities = item.get("probabilities")
    if probabilities is not None:
        if not isinstance(probabilities, list) or not all(_number(p) for p in probabilities):
            raise IngestError(f"{where} has probabilities that are not finite numbers.")
        if len(probabilities) != len(names):
            raise IngestError(
                f"{where} has {len(probabilities)} probabilities but the schema names "
                f"{len(names)} categories (dimension mismatch)."
            )
        probabilities = [float(p) for p in probabilities]
    if "category_id" in item:
        label = names[_category(cat_index, item["category_id"], where, "schema.json")]
    elif probabilities is not None:
        label = names[int(np.argmax(probabilities))]
    else:
        raise IngestError(f"{where} needs a category_id or probabilities.")
    score = item.get("score")
    if score is not None and not _number(score):
        raise IngestError(f"{where} has a score that is not a finite number.")
    if score is None and probabilities is not None:
        score = max(probabilities)
    if kind == DETECTION:
        x, y, w, h = _bbox(item.get("bbox"), where)
        return AnnotationRecord(label, x, y, w, h, score=score, probabilities=probabilities)
    return AnnotationRecord(label, score=score, probabilities=probabilities)


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
                    if not _number(value) or value < 0:
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
        task.categories = sorted(set(labels_seen), key=_natural)
    return task


def _natural(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


# -- Scores ------------------------------------------------------------------------------------


def prediction_scores(
    kind: str, by_sample: Mapping[int, list[AnnotationRecord]]
) -> dict[str, dict[int, float]]:
    """Active-learning scores per sample id (semantics doc): classification from probabilities;
    detection per box reduced by max per image (0 without boxes) and
    ``objectness_least_confidence = 1 - mean(box scores)``."""
    sample_ids = list(by_sample)
    result: dict[str, dict[int, float]] = {}
    if kind == CLASSIFICATION:
        rows = [(s, r[0].probabilities) for s, r in by_sample.items() if r and r[0].probabilities]
        if rows:
            scores = classification_scores(np.array([p for _, p in rows]))
            for name, values in scores.items():
                result[name] = {s: float(v) for (s, _), v in zip(rows, values, strict=True)}
        return result
    boxes = [
        (s, r.probabilities) for s, records in by_sample.items() for r in records if r.probabilities
    ]
    if boxes:
        scores = classification_scores(np.array([p for _, p in boxes]))
        for name, values in scores.items():
            per_sample = dict.fromkeys(sample_ids, 0.0)
            for (s, _), v in zip(boxes, values, strict=True):
                per_sample[s] = max(per_sample[s], float(v))
            result[name] = per_sample
    if any(r.score is not None for records in by_sample.values() for r in records):
        objectness = {}
        for s, records in by_sample.items():
            box_scores = [r.score for r in records if r.score is not None]
            objectness[s] = 1.0 - float(np.mean(box_scores)) if box_scores else 0.0
        result["objectness_least_confidence"] = objectness
    return result
