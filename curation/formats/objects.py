"""Object embeddings files: one vector per object (box) of a detection task.

Two layouts, both keyed per row either by ``filename`` + ``object_index`` (the box's position,
0-based, among the image's boxes of the task in the order the annotation file lists them) or by
``annotation_id`` (a COCO annotation id, resolved with the COCO file the task came from,
``coco_object_keys``):

- CSV: a header with the key column(s) and ``embedding_0 .. embedding_{D-1}``;
- ``.npy``: a 2-D real matrix with a key CSV (``--object-ids FILE`` or the sidecar
  ``<stem>.objects.csv``) holding the key columns, one row per matrix row.

Every row keeps the line it was read from, so the importer's refusals (unknown object, box
outside the image, zero-area box) name the file and the line. Pure parsing: no Django, no ORM.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from curation.formats.coco import coco_tables, load_json, read_bbox
from curation.formats.embeddings import npy_header
from curation.formats.records import IngestError
from curation.formats.text import csv_rows, display

FILE_COLUMNS = ("filename", "file_name", "fileName")
INDEX_COLUMNS = ("object_index", "object_id", "objectIndex")
ANNOTATION_COLUMN = "annotation_id"
_EMBEDDING = re.compile(r"embedding_(\d+)$")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ObjectKey:
    """One row's object: ``file_name`` + ``index``, or a COCO ``annotation_id``."""

    line: int
    file_name: str | None = None
    index: int | None = None
    annotation_id: int | None = None

    def describe(self) -> str:
        if self.annotation_id is not None:
            return f"annotation id {self.annotation_id}"
        return f"object {self.index} of {self.file_name}"


@dataclass
class ObjectEmbeddingFile:
    """The rows of an object embeddings file; ``keys[i]`` is the object of ``matrix[i]`` and
    ``key_source`` the file whose lines ``ObjectKey.line`` counts."""

    source: str
    key_source: str
    keys: list[ObjectKey]
    matrix: np.ndarray  # (N, D) float32, finite

    @property
    def by_annotation_id(self) -> bool:
        return bool(self.keys) and self.keys[0].annotation_id is not None


def _key_columns(header: list[str], source: str) -> tuple[int | None, int | None, int | None]:
    def find(names: tuple[str, ...]) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    file_col, index_col = find(FILE_COLUMNS), find(INDEX_COLUMNS)
    ann_col = find((ANNOTATION_COLUMN,))
    if ann_col is not None and (file_col is not None or index_col is not None):
        raise IngestError(
            f"{source} line 1 has both annotation_id and filename/object_index columns: "
            "key the objects one way."
        )
    if ann_col is None and (file_col is None or index_col is None):
        raise IngestError(
            f"{source} line 1 must name the object of each row: a filename and an object_index "
            "column, or an annotation_id column (COCO annotation ids)."
        )
    return file_col, index_col, ann_col


def _integer(text: str, where: str, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise IngestError(f"{where}: {what} {text!r} is not a whole number.") from None
    if value < 0:
        raise IngestError(f"{where}: {what} {value} is negative.")
    return value


def _key(
    cells: list[str], line: int, columns: tuple[int | None, int | None, int | None], source: str
) -> ObjectKey:
    file_col, index_col, ann_col = columns
    where = f"{source} line {line}"
    width = max(c for c in columns if c is not None) + 1
    if len(cells) < width:
        raise IngestError(f"{where} has {len(cells)} cells; the header names {width} or more.")
    if ann_col is not None:
        return ObjectKey(line, annotation_id=_integer(cells[ann_col], where, "annotation_id"))
    assert file_col is not None and index_col is not None
    name = cells[file_col].strip()
    if not name:
        raise IngestError(f"{where} has an empty filename.")
    return ObjectKey(line, file_name=name, index=_integer(cells[index_col], where, "object_index"))


def _check_unique(keys: list[ObjectKey], source: str) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for key in keys:
        ident = (key.file_name, key.index, key.annotation_id)
        if ident in seen:
            raise IngestError(
                f"{source} line {key.line} repeats {key.describe()} (first on line "
                f"{seen[ident]}): one vector per object."
            )
        seen[ident] = key.line


def read_object_embeddings_csv(path: Path) -> ObjectEmbeddingFile:
    source = display(path)
    keys: list[ObjectKey] = []
    rows: list[list[float]] = []
    columns: tuple[int | None, int | None, int | None] = (None, None, None)
    vector_cols: list[int] = []
    with open(path, "rb") as handle:
        for line, cells in csv_rows(handle, source):
            if line == 1:
                header = [c.strip() for c in cells]
                columns = _key_columns(header, source)
                numbered = sorted(
                    (int(m.group(1)), i) for i, c in enumerate(header) if (m := _EMBEDDING.match(c))
                )
                if not numbered or [n for n, _ in numbered] != list(range(len(numbered))):
                    raise IngestError(
                        f"{source} line 1 needs columns embedding_0 .. embedding_<D-1>, "
                        "numbered without gaps."
                    )
                vector_cols = [i for _, i in numbered]
                continue
            if not any(c.strip() for c in cells):
                continue
            keys.append(_key(cells, line, columns, source))
            try:
                rows.append([float(cells[i]) for i in vector_cols])
            except (ValueError, IndexError):
                raise IngestError(
                    f"{source} line {line}: every embedding_<i> cell must be a number."
                ) from None
    if not keys:
        raise IngestError(f"{source} holds no object embeddings.")
    matrix = np.asarray(rows, dtype=np.float32)
    _check_finite(matrix, keys, source)
    _check_unique(keys, source)
    return ObjectEmbeddingFile(source=source, key_source=source, keys=keys, matrix=matrix)


def _check_finite(matrix: np.ndarray, keys: list[ObjectKey], source: str) -> None:
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise IngestError(
            f"{source} line {keys[row].line} (row {row}) holds a NaN or infinite value: "
            "embeddings must be finite."
        )


def read_object_keys(path: Path) -> list[ObjectKey]:
    """The key CSV of a ``.npy`` matrix: a header, then one object a line."""
    source = display(path)
    keys: list[ObjectKey] = []
    columns: tuple[int | None, int | None, int | None] = (None, None, None)
    with open(path, "rb") as handle:
        for line, cells in csv_rows(handle, source):
            if line == 1:
                columns = _key_columns([c.strip() for c in cells], source)
            elif any(c.strip() for c in cells):
                keys.append(_key(cells, line, columns, source))
    _check_unique(keys, source)
    return keys


def read_object_embeddings_npy(path: Path, keys_path: Path | None) -> ObjectEmbeddingFile:
    source = display(path)
    keys_path = keys_path or path.with_name(f"{path.stem}.objects.csv")
    if not keys_path.is_file():
        raise IngestError(
            f"{source} needs its object keys: pass --object-ids KEYS.csv or put "
            f"{path.stem}.objects.csv (filename,object_index or annotation_id) next to it."
        )
    shape, dtype = npy_header(path)
    if len(shape) != 2 or dtype.kind not in "iuf":
        raise IngestError(f"{source} must hold a 2-D array of real numbers.")
    try:
        matrix = np.load(path, allow_pickle=False).astype(np.float32)
    except (ValueError, OSError, EOFError, MemoryError):
        raise IngestError(f"{source} is not a readable .npy array: save it with np.save.") from None
    keys = read_object_keys(keys_path)
    key_source = display(keys_path)
    if len(keys) != matrix.shape[0]:
        raise IngestError(
            f"{source} has {matrix.shape[0]} rows but {key_source} lists {len(keys)} objects: "
            "they must match one to one."
        )
    _check_finite(matrix, keys, key_source)
    return ObjectEmbeddingFile(source=source, key_source=key_source, keys=keys, matrix=matrix)


def read_object_embeddings(path: Path, keys_path: Path | None = None) -> ObjectEmbeddingFile:
    """An object embeddings file by suffix: ``.csv`` or ``.npy`` (with its key CSV)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_object_embeddings_csv(path)
    if suffix == ".npy":
        return read_object_embeddings_npy(path, keys_path)
    raise IngestError(
        f"{display(path)} is not an object embeddings file Curation reads: use .csv "
        "(filename,object_index or annotation_id, embedding_0..) or .npy with a key CSV."
    )


def coco_object_keys(path: Path) -> dict[int, tuple[str, int, Box]]:
    """COCO annotation id -> (file name, index among that image's boxes in file order, box)."""
    source = display(path)
    data = load_json(path)
    images, _, _ = coco_tables(data, source)
    annotations = data.get("annotations") if isinstance(data, Mapping) else None
    if not isinstance(annotations, list):
        raise IngestError(f"{source} has no annotations list.")
    counts: dict[int, int] = {}
    out: dict[int, tuple[str, int, Box]] = {}
    for i, ann in enumerate(annotations):
        where = f"{source} annotations[{i}]"
        if not isinstance(ann, Mapping) or ann.get("image_id") not in images:
            continue  # the annotation importer already refused these
        image_id = ann["image_id"]
        index = counts.get(image_id, 0)  # as the importer writes them: file order per image
        counts[image_id] = index + 1
        ann_id = ann.get("id")
        if "bbox" in ann and isinstance(ann_id, int) and not isinstance(ann_id, bool):
            out[ann_id] = (images[image_id], index, read_bbox(ann["bbox"], where))
    return out


# ----------------------------------------------------------------------------- crops


def object_crop_box(
    box: tuple[float, float, float, float], size: tuple[int, int], padding: float
) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` pixel bounds of the crop of ``box`` (x, y, w, h) in an
    image of ``size`` (width, height): grown by ``padding`` x w / h, rounded outwards, clipped."""
    x, y, w, h = box
    width, height = size
    left = max(0, math.floor(x - padding * w))
    top = max(0, math.floor(y - padding * h))
    right = min(width, math.ceil(x + w + padding * w))
    bottom = min(height, math.ceil(y + h + padding * h))
    return left, top, max(left, right), max(top, bottom)


def object_crop(
    image: Image.Image, box: tuple[float, float, float, float], padding: float
) -> Image.Image:
    """The crop of ``box`` (plus padding) from ``image``: exactly those pixels."""
    return image.crop(object_crop_box(box, image.size, padding))
