"""COCO: dataset files (``images``, ``categories``, ``annotations``) and results lists
(``[{image_id, category_id, bbox, score}]``, read against the COCO file they refer to).

Errors name the file and the JSON path (``annotations[3] of coco.json``). Categories are ordered
by id; boxes are pixels ``[x, y, width, height]``. Pure parsing: no Django, no ORM.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from curation.formats.records import (
    CLASSIFICATION,
    DETECTION,
    AnnotationRecord,
    IngestError,
    TaskImport,
)
from curation.formats.text import display, refuse_unstorable_text


def load_json(path: Path) -> Any:
    """A COCO or Lightly JSON file (UTF-8, BOM allowed), refused when it holds unstorable text."""
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


def finite_number(value: Any) -> bool:
    """True for an int or float that is finite (never a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_bbox(value: Any, where: str) -> tuple[float, float, float, float]:
    """``[x, y, width, height]`` as floats; refused naming ``where`` unless four finite numbers
    with a width and height >= 0."""
    if not (isinstance(value, list) and len(value) == 4 and all(finite_number(v) for v in value)):
        raise IngestError(f"{where} has bbox {value!r}: it must be [x, y, width, height] numbers.")
    x, y, w, h = (float(v) for v in value)
    if w < 0 or h < 0:
        raise IngestError(f"{where} has a negative box width or height ({value!r}).")
    return x, y, w, h


def coco_tables(data: Any, source: str) -> tuple[dict[int, str], list[str], dict[int, int]]:
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


def category_of(cat_index: dict[int, int], value: Any, where: str, source: str) -> int:
    """The index of category id ``value``; refused naming ``where`` when ``source`` lacks it."""
    if value not in cat_index:
        raise IngestError(
            f"{where} uses category id {value!r}, which the categories of {source} do not list."
        )
    return cat_index[value]


def read_coco(data: Any, path: Path, *, task_name: str, is_prediction: bool) -> TaskImport:
    """A COCO dataset file (already loaded from ``path``) as one task: detection when any
    annotation has a bbox (or there are none), else classification."""
    source = display(path)
    images, names, cat_index = coco_tables(data, source)
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
        label = names[category_of(cat_index, ann.get("category_id"), where, source)]
        score = ann.get("score")
        if score is not None and not finite_number(score):
            raise IngestError(f"{where} has a score that is not a finite number.")
        if "bbox" in ann:
            has_boxes = True
            x, y, w, h = read_bbox(ann["bbox"], where)
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
    images, names, cat_index = coco_tables(reference, "the COCO reference file")
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
        label = names[category_of(cat_index, item.get("category_id"), where, "the reference file")]
        score = item.get("score")
        if not finite_number(score):
            raise IngestError(f"{where} needs a finite score.")
        assert score is not None
        x, y, w, h = read_bbox(item.get("bbox"), where)
        by_id[image_id].append(
            AnnotationRecord(label=label, x=x, y=y, w=w, h=h, score=float(score))
        )
    task = TaskImport(
        name=task_name, kind=DETECTION, categories=names, source=source, is_prediction=True
    )
    task.by_name = {images[image_id]: records for image_id, records in by_id.items()}
    task.described = {images[i]: f"image id {i} ({images[i]})" for i in images}
    return task
