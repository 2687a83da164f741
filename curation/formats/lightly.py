"""Lightly formats: the predictions folder (``tasks.json``, ``<task>/schema.json`` and one JSON
file of predictions per image) and the embeddings CSV (``filenames, embedding_0..embedding_N,
masked, selected, labels``).

Prediction errors name the file and the JSON path (``predictions[2] of task/a.json``). The CSV
is parsed fast with pyarrow; when the fast parser meets a problem, a slow line-by-line pass finds
the exact line and column to name. Pure parsing: no Django, no ORM.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from curation.formats.coco import category_of, coco_tables, finite_number, load_json, read_bbox
from curation.formats.names import check_file_name, check_inside, find_file_name_column
from curation.formats.records import (
    CLASSIFICATION,
    DETECTION,
    AnnotationRecord,
    EmbeddingFile,
    IngestError,
    TaskImport,
)
from curation.formats.text import csv_rows, display

EMBEDDING_COLUMN = re.compile(r"embedding_(\d+)")
FLAG_COLUMNS = ("masked", "selected")
_LIGHTLY_KINDS = {"classification": CLASSIFICATION, "object-detection": DETECTION}
_LIGHTLY_NAME = "filenames"
_MAX_CELL = 128 * 1024  # csv.field_size_limit(): the slow pass names the line of a longer cell


# -- predictions -------------------------------------------------------------------------------


def read_lightly_predictions(root: Path) -> list[TaskImport]:
    """Every task of a Lightly predictions folder (named by ``tasks.json`` or found as
    ``<task>/schema.json``), each a prediction task."""
    tasks_file = root / "tasks.json"
    if tasks_file.is_file():
        names = load_json(tasks_file)
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
        check_inside(root, root / name)
    return [read_lightly_task(root / name, task_name=name) for name in names]


def read_lightly_task(folder: Path, *, task_name: str) -> TaskImport:
    """One task folder: ``schema.json`` (task_type, categories) and a JSON file an image."""
    schema_path = folder / "schema.json"
    if not schema_path.is_file():
        raise IngestError(f"Prediction task folder {folder.name} has no schema.json.")
    check_inside(folder, schema_path)
    schema = load_json(schema_path)
    task_type = schema.get("task_type") if isinstance(schema, Mapping) else None
    kind = _LIGHTLY_KINDS.get(str(task_type))
    if kind is None:
        raise IngestError(
            f"{folder.name}/schema.json: task_type must be classification or object-detection."
        )
    _, names, cat_index = coco_tables(
        {"images": [], "categories": schema.get("categories")}, f"{folder.name}/schema.json"
    )
    task = TaskImport(
        name=task_name, kind=kind, categories=names, source=folder.name, is_prediction=True
    )
    for path in sorted(folder.rglob("*.json")):
        if path == schema_path:
            continue
        check_inside(folder, path)
        source = f"{folder.name}/{path.relative_to(folder).as_posix()}"
        data = load_json(path)
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
        if not isinstance(probabilities, list) or not all(finite_number(p) for p in probabilities):
            raise IngestError(f"{where} has probabilities that are not finite numbers.")
        if len(probabilities) != len(names):
            raise IngestError(
                f"{where} has {len(probabilities)} probabilities but the schema names "
                f"{len(names)} categories (dimension mismatch)."
            )
        probabilities = [float(p) for p in probabilities]
    if "category_id" in item:
        label = names[category_of(cat_index, item["category_id"], where, "schema.json")]
    elif probabilities is not None:
        label = names[int(np.argmax(probabilities))]
    else:
        raise IngestError(f"{where} needs a category_id or probabilities.")
    score = item.get("score")
    if score is not None and not finite_number(score):
        raise IngestError(f"{where} has a score that is not a finite number.")
    if score is None and probabilities is not None:
        score = max(probabilities)
    if kind == DETECTION:
        x, y, w, h = read_bbox(item.get("bbox"), where)
        return AnnotationRecord(label, x, y, w, h, score=score, probabilities=probabilities)
    return AnnotationRecord(label, score=score, probabilities=probabilities)


# -- embeddings CSV ----------------------------------------------------------------------------


def embedding_columns(columns: list[str], source: str) -> list[str]:
    """The ``embedding_<i>`` columns in index order; refused when none or with a gap."""
    found = []
    for column in columns:
        match = EMBEDDING_COLUMN.fullmatch(column)
        if match:
            found.append((int(match.group(1)), column))
    if not found:
        raise IngestError(f"{source} has no embedding_0, embedding_1, ... columns.")
    found.sort()
    indices = [index for index, _ in found]
    if indices != list(range(len(indices))):
        missing = sorted(set(range(max(indices) + 1)) - set(indices))
        raise IngestError(
            f"{source} skips column embedding_{missing[0]}: columns must run embedding_0 .. "
            f"embedding_{max(indices)} without gaps."
        )
    return [column for _, column in found]


def _csv_header(path: Path) -> list[str]:
    with open(path, "rb") as handle:
        header = next(csv_rows(handle, display(path)), (1, None))[1]
    if not header:
        raise IngestError(f"{display(path)} is empty: it needs a header line.")
    return [column.strip() for column in header]


def _check_csv_header(columns: list[str], source: str) -> tuple[str, list[str]]:
    if len(set(columns)) != len(columns):
        twice = next(c for c in columns if columns.count(c) > 1)
        raise IngestError(f"{source} names column {twice!r} twice in its header (line 1).")
    name_column = _LIGHTLY_NAME if _LIGHTLY_NAME in columns else None
    if name_column is None:
        name_column = find_file_name_column(columns, source)
    vector_columns = embedding_columns(columns, source)
    allowed = {name_column, "labels", *FLAG_COLUMNS, *vector_columns}
    for position, column in enumerate(columns, start=1):
        if column not in allowed:
            raise IngestError(
                f"{source} has an unknown column {column!r} (line 1, column {position}): a Lightly "
                "embeddings CSV has filenames, embedding_0..embedding_N, masked, selected, labels."
            )
    return name_column, vector_columns


def _locate_csv_problem(path: Path, columns: list[str], name_column: str) -> IngestError:
    """The first bad cell of the file, found the slow way, with its line and column."""
    source = display(path)
    with open(path, "rb") as handle:
        reader = csv_rows(handle, source)
        next(reader, None)
        for line, row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(columns):
                return IngestError(
                    f"Line {line} of {source} has {len(row)} values but the header names "
                    f"{len(columns)} columns (dimension mismatch)."
                )
            for column, cell in zip(columns, row, strict=True):
                where = f"line {line}, column {column} of {source}"
                text = cell.strip()
                if column == name_column:
                    if not text:
                        return IngestError(f"The file name is empty at {where}.")
                elif column.startswith("embedding_"):
                    try:
                        value = float(text)
                    except ValueError:
                        return IngestError(f"{text!r} at {where} is not a number.")
                    if not math.isfinite(value):
                        return IngestError(
                            f"{text!r} at {where} is NaN or infinite: embeddings must be finite."
                        )
                elif column in FLAG_COLUMNS and text not in ("0", "1"):
                    return IngestError(f"{text!r} at {where} must be 0 or 1.")
    return IngestError(f"{source} could not be parsed as a CSV file: check its quoting.")


def read_embeddings_csv(path: Path) -> EmbeddingFile:
    """A Lightly embeddings CSV; file names are not checked here (``read_embeddings`` does)."""
    source = display(path)
    columns = _csv_header(path)
    name_column, vector_columns = _check_csv_header(columns, source)
    types: dict[str, pa.DataType] = {c: pa.float32() for c in vector_columns}
    types[name_column] = pa.string()
    types.update({c: pa.string() for c in ("labels", *FLAG_COLUMNS) if c in columns})
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise _locate_csv_problem(path, columns, name_column) from None
    if table.num_rows == 0:
        raise IngestError(f"{source} holds no embeddings, only a header.")
    vectors = table.select(vector_columns)
    if any(v.null_count for v in vectors.columns):
        raise _locate_csv_problem(path, columns, name_column)
    matrix = row_major(vectors)
    if not np.isfinite(matrix).all():
        raise _locate_csv_problem(path, columns, name_column)
    names = [str(n).strip() for n in table.column(name_column).to_pylist()]
    if not all(names) or any("\x00" in n or len(n) > _MAX_CELL for n in names):
        raise _locate_csv_problem(path, columns, name_column)
    result = EmbeddingFile(source=source, names=names, matrix=matrix)
    for flag in FLAG_COLUMNS:
        if flag in columns:
            values = pc.utf8_trim_whitespace(table.column(flag))
            ok = pc.is_in(values, value_set=pa.array(["0", "1"]))
            if not pc.all(ok).as_py():
                raise _locate_csv_problem(path, columns, name_column)
            setattr(result, flag, pc.equal(values, "1").to_numpy(zero_copy_only=False))
    if "labels" in columns:
        labels = [label.strip() or None for label in table.column("labels").to_pylist()]
        if any(label and "\x00" in label for label in labels):
            raise _locate_csv_problem(path, columns, name_column)
        result.labels = labels
    return result


def row_major(table: pa.Table) -> np.ndarray:
    """The float32 columns of ``table`` as one C-contiguous (rows, columns) matrix, converted
    batch by batch in C++ (a column-by-column copy into a row-major matrix is 2x slower)."""
    matrix = np.empty((table.num_rows, table.num_columns), dtype=np.float32)
    row = 0
    for batch in table.to_batches():
        matrix[row : row + batch.num_rows] = batch.to_tensor(row_major=True).to_numpy()
        row += batch.num_rows
    return matrix
