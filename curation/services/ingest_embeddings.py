"""Embedding files: the Lightly CSV, ``.npy`` with a file-name list, and Parquet.

Parsing is fast (pyarrow for CSV and Parquet); when the fast parser meets a problem, a slow
line-by-line pass finds the exact line and column to name in the error.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from curation.services.ingest_common import (
    IngestError,
    check_duplicates,
    display,
    find_file_name_column,
)

_EMBEDDING_COLUMN = re.compile(r"embedding_(\d+)")
_FLAG_COLUMNS = ("masked", "selected")
_LIGHTLY_NAME = "filenames"


@dataclass
class EmbeddingFile:
    source: str
    names: list[str]
    matrix: np.ndarray  # (N, D) float32, finite
    masked: np.ndarray | None = None  # bool (N,)
    selected: np.ndarray | None = None  # bool (N,)
    labels: list[str | None] | None = None


def read_embeddings(path: Path, filenames_path: Path | None = None) -> EmbeddingFile:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        parsed = read_embeddings_csv(path)
    elif suffix == ".npy":
        parsed = read_embeddings_npy(path, filenames_path)
    elif suffix in (".parquet", ".pq"):
        parsed = read_embeddings_parquet(path)
    else:
        raise IngestError(
            f"{display(path)} is not an embeddings file Curation reads: use .csv (Lightly), "
            ".npy (with a file-name list) or .parquet."
        )
    if not parsed.names:
        raise IngestError(f"{parsed.source} holds no embeddings.")
    check_duplicates(parsed.names, parsed.source, first_line=2 if suffix == ".csv" else 1)
    return parsed


# -- CSV ---------------------------------------------------------------------------------------


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise IngestError(f"{display(path)} is empty: it needs a header line.")
    return [column.strip() for column in header]


def _embedding_columns(columns: list[str], source: str) -> list[str]:
    found = []
    for column in columns:
        match = _EMBEDDING_COLUMN.fullmatch(column)
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


def _check_csv_header(columns: list[str], source: str) -> tuple[str, list[str]]:
    if len(set(columns)) != len(columns):
        twice = next(c for c in columns if columns.count(c) > 1)
        raise IngestError(f"{source} names column {twice!r} twice in its header (line 1).")
    name_column = _LIGHTLY_NAME if _LIGHTLY_NAME in columns else None
    if name_column is None:
        name_column = find_file_name_column(columns, source)
    embedding_columns = _embedding_columns(columns, source)
    allowed = {name_column, "labels", *_FLAG_COLUMNS, *embedding_columns}
    for position, column in enumerate(columns, start=1):
        if column not in allowed:
            raise IngestError(
                f"{source} has an unknown column {column!r} (line 1, column {position}): a Lightly "
                "embeddings CSV has filenames, embedding_0..embedding_N, masked, selected, labels."
            )
    return name_column, embedding_columns


def _locate_csv_problem(path: Path, columns: list[str], name_column: str) -> IngestError:
    """The first bad cell of the file, found the slow way, with its line and column."""
    source = display(path)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            line = reader.line_num
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
                elif column in _FLAG_COLUMNS and text not in ("0", "1"):
                    return IngestError(f"{text!r} at {where} must be 0 or 1.")
    return IngestError(f"{source} could not be parsed as a CSV file: check its quoting.")


def read_embeddings_csv(path: Path) -> EmbeddingFile:
    source = display(path)
    columns = _csv_header(path)
    name_column, embedding_columns = _check_csv_header(columns, source)
    types: dict[str, pa.DataType] = {c: pa.float32() for c in embedding_columns}
    types[name_column] = pa.string()
    types.update({c: pa.string() for c in ("labels", *_FLAG_COLUMNS) if c in columns})
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
    vectors = table.select(embedding_columns)
    if any(v.null_count for v in vectors.columns):
        raise _locate_csv_problem(path, columns, name_column)
    matrix = _row_major(vectors)
    if not np.isfinite(matrix).all():
        raise _locate_csv_problem(path, columns, name_column)
    names = [str(n).strip() for n in table.column(name_column).to_pylist()]
    if not all(names):
        raise _locate_csv_problem(path, columns, name_column)
    result = EmbeddingFile(source=source, names=names, matrix=matrix)
    for flag in _FLAG_COLUMNS:
        if flag in columns:
            values = pc.utf8_trim_whitespace(table.column(flag))
            ok = pc.is_in(values, value_set=pa.array(["0", "1"]))
            if not pc.all(ok).as_py():
                raise _locate_csv_problem(path, columns, name_column)
            setattr(result, flag, pc.equal(values, "1").to_numpy(zero_copy_only=False))
    if "labels" in columns:
        result.labels = [label.strip() or None for label in table.column("labels").to_pylist()]
    return result


def _row_major(table: pa.Table) -> np.ndarray:
    """The float32 columns of ``table`` as one C-contiguous (rows, columns) matrix, converted
    batch by batch in C++ (a column-by-column copy into a row-major matrix is 2x slower)."""
    matrix = np.empty((table.num_rows, table.num_columns), dtype=np.float32)
    row = 0
    for batch in table.to_batches():
        matrix[row : row + batch.num_rows] = batch.to_tensor(row_major=True).to_numpy()
        row += batch.num_rows
    return matrix


# -- NPY ---------------------------------------------------------------------------------------


def _sidecar(path: Path) -> Path | None:
    for suffix in (".filenames.txt", ".filenames.json"):
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_file_name_list(path: Path) -> list[str]:
    if path.suffix.lower() == ".json":
        try:
            names = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise IngestError(f"{display(path)} is not valid JSON ({exc}).") from None
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise IngestError(f"{display(path)} must hold a JSON list of file-name strings.")
        return [n.strip() for n in names]
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise IngestError(f"Line {number} of {display(path)} is empty: one file name a line.")
    return [line.strip() for line in lines]


def read_embeddings_npy(path: Path, filenames_path: Path | None) -> EmbeddingFile:
    source = display(path)
    names_path = filenames_path or _sidecar(path)
    if names_path is None:
        raise IngestError(
            f"{source} needs its file names: pass --embedding-filenames NAMES.txt or put "
            f"{path.stem}.filenames.txt (one name a line) or .filenames.json next to it."
        )
    try:
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise IngestError(f"{source} is not a readable .npy array ({exc}).") from None
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number):
        raise IngestError(f"{source} must hold a 2-D numeric array, not {matrix.shape}.")
    names = read_file_name_list(names_path)
    if len(names) != matrix.shape[0]:
        raise IngestError(
            f"{source} has {matrix.shape[0]} rows but {display(names_path)} lists {len(names)} "
            "file names: they must match one to one."
        )
    matrix = matrix.astype(np.float32)
    _check_finite(matrix, source, "row")
    return EmbeddingFile(source=source, names=names, matrix=matrix)


def _check_finite(matrix: np.ndarray, source: str, unit: str, offset: int = 0) -> None:
    finite = np.isfinite(matrix)
    if not finite.all():
        row, column = (int(i[0]) for i in np.nonzero(~finite))
        raise IngestError(
            f"{unit.capitalize()} {row + offset}, value {column} of {source} is NaN or infinite: "
            "embeddings must be finite."
        )


# -- Parquet -----------------------------------------------------------------------------------


def read_embeddings_parquet(path: Path) -> EmbeddingFile:
    source = display(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{source} is not a readable Parquet file ({exc}).") from None
    columns = table.column_names
    name_column = find_file_name_column(columns, source)
    embedding_columns = [c for c in columns if _EMBEDDING_COLUMN.fullmatch(c)]
    list_columns = [
        c
        for c in columns
        if pa.types.is_list(table.schema.field(c).type)
        or pa.types.is_large_list(table.schema.field(c).type)
        or pa.types.is_fixed_size_list(table.schema.field(c).type)
    ]
    if embedding_columns:
        embedding_columns = _embedding_columns(columns, source)
        matrix = np.column_stack(
            [table.column(c).to_numpy(zero_copy_only=False) for c in embedding_columns]
        ).astype(np.float32)
    elif len(list_columns) == 1:
        column = table.column(list_columns[0]).combine_chunks()
        lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
        if len(lengths) and (lengths != lengths[0]).any():
            row = int(np.flatnonzero(lengths != lengths[0])[0])
            raise IngestError(
                f"Row {row + 1} of {source} has {lengths[row]} values in {list_columns[0]} but row "
                f"1 has {lengths[0]} (dimension mismatch)."
            )
        values = pc.list_flatten(column).to_numpy(zero_copy_only=False)
        matrix = np.asarray(values, dtype=np.float32).reshape(len(lengths), -1)
    else:
        raise IngestError(
            f"{source} needs embedding_0..embedding_N columns or exactly one list column "
            f"holding the vectors (found {len(list_columns)} list columns)."
        )
    _check_finite(matrix, source, "row", offset=1)
    names = [str(n).strip() if n is not None else "" for n in table.column(name_column).to_pylist()]
    if not all(names):
        raise IngestError(f"Row {names.index('') + 1} of {source} has no file name.")
    result = EmbeddingFile(source=source, names=names, matrix=matrix)
    for flag in _FLAG_COLUMNS:
        if flag in columns:
            values = np.asarray(table.column(flag).to_pylist(), dtype=object)
            bad = [i for i, v in enumerate(values) if v not in (0, 1, True, False, "0", "1")]
            if bad:
                raise IngestError(f"Row {bad[0] + 1}, column {flag} of {source} must be 0 or 1.")
            setattr(result, flag, np.array([v in (1, True, "1") for v in values], dtype=bool))
    if "labels" in columns:
        result.labels = [
            None if v is None or str(v).strip() == "" else str(v).strip()
            for v in table.column("labels").to_pylist()
        ]
    return result
