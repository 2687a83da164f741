"""The export formats: one registry (``FORMATS``: name -> writer, label, file extension, content
type, whether it writes a folder) and the writers, with no database access and no Django
import (the model classes are only type hints), so any client can list the formats.

``curation.tags.export`` gathers the rows a format needs (``ExportRows``) and calls its
writer; pages, the API and ``manage.py export_tag`` list the formats from here (choices, help
texts, "unknown format" errors). Adding a format = a writer plus one ``ExportFormat`` entry.
Every file is written under a temporary name and renamed into place (``atomic_file``).
"""

from __future__ import annotations

import csv
import json
import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import yaml

from curation.formats.cells import spreadsheet_safe
from curation.formats.export_objects import write_object_crops, write_objects_csv
from curation.formats.export_videos import write_video_frames_csv
from curation.storage.paths import UnsafePathError, safe_join

if TYPE_CHECKING:  # rows come from the models; this module never imports Django itself
    from curation.models import Annotation, AnnotationTask, Sample

CLASSIFICATION = "classification"  # AnnotationTask.Kind.CLASSIFICATION


class ExportError(ValueError):
    """An export that cannot be carried out; the message says why and what to do."""


@contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Write to a temporary name next to ``path`` and rename it into place when done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, mode, newline="" if "b" not in mode else None) as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)


def write_filenames(path: Path, samples: list[Sample]) -> None:
    with atomic_file(path) as handle:
        for sample in samples:
            handle.write(f"{sample.file_name}\n")


def write_csv(
    path: Path,
    samples: list[Sample],
    tasks: list[AnnotationTask],
    annotations: dict[int, dict[int, list[Annotation]]],
    scores: dict[int, dict[str, float]],
) -> None:
    """One row a sample: file_name, size, every metadata key, then per task its label
    (classification) or its boxes as JSON ``[[label, x, y, w, h, score], ...]`` (detection),
    then the scores as ``<task>.<score>``."""
    keys = sorted({key for s in samples for key in s.metadata})
    score_columns = sorted({name for per in scores.values() for name in per})
    task_columns = [
        f"{t.name}.label" if t.kind == CLASSIFICATION else f"{t.name}.boxes" for t in tasks
    ]
    with atomic_file(path) as handle:
        writer = csv.writer(handle)
        header = ["file_name", "width", "height", "size_bytes", *keys, *task_columns]
        writer.writerow([spreadsheet_safe(column) for column in [*header, *score_columns]])
        for sample in samples:
            row: list[Any] = [sample.file_name, sample.width, sample.height, sample.size_bytes]
            row += [sample.metadata.get(key) for key in keys]
            for task in tasks:
                found = annotations.get(task.pk, {}).get(sample.pk, [])
                if task.kind == CLASSIFICATION:
                    row.append(";".join(a.label for a in found))
                else:
                    row.append([[a.label, a.x, a.y, a.w, a.h, a.score] for a in found])
            row += [scores.get(sample.pk, {}).get(name) for name in score_columns]
            writer.writerow([_cell(value) for value in row])


def coco_document(
    samples: list[Sample], task: AnnotationTask | None, annotations: dict[int, list[Annotation]]
) -> dict[str, Any]:
    """COCO with image id = sample id and category id = 1 + index in the task's categories, so
    ids stay the same across exports of one dataset."""
    categories = list(task.categories) if task else []
    category_ids = {name: index + 1 for index, name in enumerate(categories)}
    images: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for sample in samples:
        image: dict[str, Any] = {"id": sample.pk, "file_name": sample.file_name}
        if sample.width is not None:
            image.update(width=sample.width, height=sample.height)
        images.append(image)
        for annotation in annotations.get(sample.pk, []):
            row: dict[str, Any] = {
                "id": len(rows) + 1,
                "image_id": sample.pk,
                "category_id": category_ids[annotation.label],
                "iscrowd": 0,
            }
            if annotation.bbox is not None:
                x, y, w, h = annotation.bbox
                row.update(bbox=[x, y, w, h], area=w * h)
            if annotation.score is not None:
                row["score"] = annotation.score
            rows.append(row)
    return {
        "info": {"description": "Exported by Curation"},
        "images": images,
        "annotations": rows,
        "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in category_ids.items()],
    }


def write_json(path: Path, document: Any) -> None:
    with atomic_file(path) as handle:
        json.dump(document, handle)


def write_yolo(
    folder: Path,
    samples: list[Sample],
    task: AnnotationTask,
    annotations: dict[int, list[Annotation]],
    image_root: str,
) -> None:
    """``labels/<image path without extension>.txt`` (class x_center y_center width height,
    normalised; a 6th confidence column for prediction tasks), ``images.txt`` and ``data.yaml``."""
    index = {name: i for i, name in enumerate(task.categories)}
    labels = folder / "labels"
    label_paths: dict[int, Path] = {}
    image_paths: dict[int, str] = {}
    for sample in samples:  # every check and every path before the first write
        if sample.width is None or sample.height is None:
            raise ExportError(
                f"{sample.file_name} has no known image size: YOLO boxes need it; import the "
                "images of the dataset first."
            )
        stem = posixpath.splitext(sample.file_name)[0]
        try:  # the checked join: label files stay inside the labels folder
            label_paths[sample.pk] = safe_join(labels, f"{stem}.txt")
            image_paths[sample.pk] = (
                str(safe_join(image_root, sample.file_name)) if image_root else sample.file_name
            )
        except UnsafePathError as exc:
            raise ExportError(
                f"The file name {sample.file_name!r} {exc.reason}: file names must be relative "
                "paths inside the dataset's folder; nothing was exported."
            ) from None
    for sample in samples:
        lines = []
        for a in annotations.get(sample.pk, []):
            if a.bbox is None:
                continue
            assert sample.width is not None and sample.height is not None
            x, y, w, h = a.bbox
            values = [
                (x + w / 2) / sample.width,
                (y + h / 2) / sample.height,
                w / sample.width,
                h / sample.height,
            ]
            if task.is_prediction and a.score is not None:
                values.append(a.score)
            lines.append(f"{index[a.label]} " + " ".join(f"{v:.6f}" for v in values))
        with atomic_file(label_paths[sample.pk]) as handle:
            handle.write("".join(f"{line}\n" for line in lines))
    with atomic_file(folder / "images.txt") as handle:
        for sample in samples:
            handle.write(f"{image_paths[sample.pk]}\n")
    config = {
        "path": str(folder.resolve()),
        "train": "images.txt",
        "val": "images.txt",
        "nc": len(task.categories),
        "names": dict(enumerate(task.categories)),
    }
    with atomic_file(folder / "data.yaml") as handle:
        yaml.safe_dump(config, handle, sort_keys=False, allow_unicode=True)


def write_lightly_csv(
    path: Path,
    file_names: list[str],
    matrix: np.ndarray,
    selected: np.ndarray,
    labels: np.ndarray,
) -> None:
    """The Lightly embeddings CSV: filenames, embedding_0..D-1, selected (0/1), labels. A file
    name a spreadsheet would run as a formula is written with a leading ``'``."""
    file_names = [spreadsheet_safe(name) for name in file_names]  # '=x.png stays text
    columns: dict[str, pa.Array] = {"filenames": pa.array(file_names, type=pa.string())}
    for index in range(matrix.shape[1]):
        columns[f"embedding_{index}"] = pa.array(np.ascontiguousarray(matrix[:, index]))
    columns["selected"] = pa.array(selected.astype(np.int8))
    columns["labels"] = pa.array(labels.astype(np.int64))
    table = pa.table(columns)
    # pyarrow's "needed" quotes every string; quote only when a file name needs it.
    special = any(c in name for name in file_names for c in ',"\r\n')
    quoting = "needed" if special else "none"
    with atomic_file(path, "wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode())
        pa_csv.write_csv(
            table,
            handle,
            write_options=pa_csv.WriteOptions(include_header=False, quoting_style=quoting),
        )


# ---------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class LightlyColumns:
    """The whole embedding space, row by row: file names, vectors, in-tag flags, labels."""

    file_names: list[str]
    matrix: np.ndarray
    selected: np.ndarray
    labels: np.ndarray


@dataclass
class ExportRows:
    """What a writer gets: the samples (by file name) and what its format asked for."""

    samples: list[Sample]
    tasks: list[AnnotationTask] = field(default_factory=list)
    # task pk -> sample pk -> annotations, for ``tasks``
    annotations: dict[int, dict[int, list[Annotation]]] = field(default_factory=dict)
    scores: dict[int, dict[str, float]] = field(default_factory=dict)
    image_root: str = ""
    embeddings: LightlyColumns | None = None
    objects: list[Annotation] = field(default_factory=list)  # an objects tag's, in pick order

    @property
    def task(self) -> AnnotationTask | None:
        return self.tasks[0] if self.tasks else None

    def task_annotations(self) -> dict[int, list[Annotation]]:
        task = self.task
        return self.annotations.get(task.pk, {}) if task else {}


Writer = Callable[[Path, ExportRows], None]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str  # what pages show
    extension: str  # of the download, without the dot ("zip" for folder formats)
    content_type: str
    write: Writer
    folder: bool = False  # writes a folder of files (downloaded as a zip)
    # which annotation tasks it needs: none, every task, or one (optional or required)
    tasks: Literal["none", "all", "one", "one-required"] = "none"
    embeddings: bool = False  # needs the dataset's embedding space
    objects: bool = False  # needs an objects tag (an object-level selection)
    frames: bool = False  # reads each sample's video (``Sample.video``): video frames


def _write_coco(path: Path, rows: ExportRows) -> None:
    write_json(path, coco_document(rows.samples, rows.task, rows.task_annotations()))


def _write_yolo(path: Path, rows: ExportRows) -> None:
    assert rows.task is not None  # "one-required"
    write_yolo(path, rows.samples, rows.task, rows.task_annotations(), rows.image_root)


def _write_lightly(path: Path, rows: ExportRows) -> None:
    assert rows.embeddings is not None
    columns = rows.embeddings
    write_lightly_csv(path, columns.file_names, columns.matrix, columns.selected, columns.labels)


FORMATS: dict[str, ExportFormat] = {
    spec.name: spec
    for spec in (
        ExportFormat(
            "filenames",
            "File names (.txt)",
            "txt",
            "text/plain",
            lambda path, rows: write_filenames(path, rows.samples),
        ),
        ExportFormat(
            "csv",
            "CSV with metadata, annotations and scores",
            "csv",
            "text/csv",
            lambda path, rows: write_csv(
                path, rows.samples, rows.tasks, rows.annotations, rows.scores
            ),
            tasks="all",
        ),
        ExportFormat("coco", "COCO JSON", "json", "application/json", _write_coco, tasks="one"),
        ExportFormat(
            "yolo",
            "YOLO labels (.zip)",
            "zip",
            "application/zip",
            _write_yolo,
            folder=True,
            tasks="one-required",
        ),
        ExportFormat(
            "lightly-csv",
            "Lightly embeddings CSV",
            "csv",
            "text/csv",
            _write_lightly,
            embeddings=True,
        ),
        ExportFormat(
            "objects-csv",
            "Objects CSV (object-level selections)",
            "csv",
            "text/csv",
            write_objects_csv,
            objects=True,
        ),
        ExportFormat(
            "object-crops",
            "Object crops as images (.zip)",
            "zip",
            "application/zip",
            write_object_crops,
            folder=True,
            objects=True,
        ),
        ExportFormat(
            "video_frames",
            "Video frames CSV (video, frame index, timestamp, file)",
            "csv",
            "text/csv",
            write_video_frames_csv,
            frames=True,
        ),
    )
}
FORMAT_NAMES = tuple(FORMATS)


def formats_help() -> str:
    """``filenames, csv, coco, yolo or lightly-csv``: the names for help texts."""
    return ", ".join(FORMAT_NAMES[:-1]) + " or " + FORMAT_NAMES[-1]


def unknown_format_message(name: object) -> str:
    return f"Unknown export format {name!r}: use one of {', '.join(FORMAT_NAMES)}."


def export_format(name: str) -> ExportFormat:
    """The format called ``name``; ``ExportError`` names the known ones otherwise."""
    spec = FORMATS.get(name)
    if spec is None:
        raise ExportError(unknown_format_message(name))
    return spec
