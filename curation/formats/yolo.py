"""YOLO label folders: ``data.yaml`` (or ``data.yml``) names the classes, ``labels/**/*.txt``
(or ``**/*.txt`` beside it) hold ``class x_center y_center width height [confidence]`` lines.

Boxes stay relative to the image size (``AnnotationRecord.normalized``) until the importer
knows each image's size; label files are keyed by their path without extension
(``TaskImport.match_by_stem``). Errors name the file and the line. Every file read must resolve
inside the folder (``check_inside``). Pure parsing: no Django, no ORM.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import yaml  # PyYAML ships with drf-spectacular, a dependency

from curation.formats.names import check_inside
from curation.formats.records import DETECTION, AnnotationRecord, IngestError, TaskImport
from curation.formats.text import display, refuse_unstorable_text, text_lines


def yolo_class_names(path: Path) -> list[str]:
    """The class names of a ``data.yaml``: a list, or a mapping numbered 0, 1, 2, ..."""
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
    """A YOLO folder as one detection task (a sixth value on a line is its confidence)."""
    yaml_path = folder / "data.yaml" if (folder / "data.yaml").is_file() else folder / "data.yml"
    check_inside(folder, yaml_path)
    names = yolo_class_names(yaml_path)
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
        check_inside(folder, label_file)
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
