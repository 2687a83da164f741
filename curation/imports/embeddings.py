"""Embedding files: the Lightly CSV, ``.npy`` with a file-name list, and Parquet.

Parsing is fast (pyarrow for CSV and Parquet); when the fast parser meets a problem, a slow
line-by-line pass finds the exact line and column to name in the error.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from curation.imports.common import (
    IngestError,
    check_duplicates,
    check_file_names,
    csv_rows,
    display,
    find_file_name_column,
    refuse_unstorable_text,
    text_lines,
)

_EMBEDDING_COLUMN = re.compile(r"embedding_(\d+)")
_FLAG_COLUMNS = ("masked", "selected")
_LIGHTLY_NAME = "filenames"
_MAX_CELL = 128 * 1024  # csv.field_size_limit(): the slow pass names the line of a longer cell


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
    if suffix == ".csv":
        check_file_names(parsed.names, parsed.source, first=2)
    elif suffix != ".npy":  # .npy: checked in its file-name list
        check_file_names(parsed.names, parsed.source, first=1, unit="row")
    check_duplicates(parsed.names, parsed.source, first_line=2 if suffix == ".csv" else 1)
    return parsed


# -- CSV ---------------------------------------------------------------------------------------


def _csv_header(path: Path) -> list[str]:
    with open(path, "rb") as handle:
        header = next(csv_rows(handle, display(path)), (1, None))[1]
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
    if not all(names) or any("\x00" in n or len(n) > _MAX_CELL for n in names):
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
        labels = [label.strip() or None for label in table.column("labels").to_pylist()]
        if any(label and "\x00" in label for label in labels):
            raise _locate_csv_problem(path, columns, name_column)
        result.labels = labels
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
            names = json.loads(path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise IngestError(f"{display(path)} is not valid UTF-8: save it as UTF-8.") from None
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise IngestError(f"{display(path)} is not valid JSON ({reason}).") from None
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise IngestError(f"{display(path)} must hold a JSON list of file-name strings.")
        check_file_names(names, display(path), first=1, unit="item")
        return [n.strip() for n in names]
    if path.suffix.lower() == ".npy":
        names = _npy_names(path)
        check_file_names(names, display(path), first=1, unit="item")
        return names
    with open(path, "rb") as handle:
        lines = [line.rstrip("\r\n") for line in text_lines(handle, display(path))]
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise IngestError(f"Line {number} of {display(path)} is empty: one file name a line.")
    check_file_names(lines, display(path))
    return [line.strip() for line in lines]


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a ``.npy`` file declares, checked against the file's size before
    anything is allocated: a header that promises more (or fewer) bytes than follow it, an
    object (pickled) dtype or a Fortran-ordered array is refused with one sentence."""
    source = display(path)
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(version)
            data_start = handle.tell()
            size = os.fstat(handle.fileno()).st_size
    except (ValueError, OSError, EOFError, SyntaxError, TypeError):
        raise IngestError(f"{source} is not a .npy file: save the array with np.save.") from None
    if dtype.hasobject:
        raise IngestError(
            f"{source} holds Python objects, which Curation never unpickles: save a numeric "
            "array (np.save of a float32 matrix)."
        )
    expected = math.prod(shape) * dtype.itemsize
    if expected != size - data_start:
        raise IngestError(
            f"{source} declares {' x '.join(f'{n:,}' for n in shape)} {dtype.name} values "
            f"({_size_text(expected)}) but holds {_size_text(size - data_start)} of data: the "
            "file is truncated or its header is wrong."
        )
    return tuple(int(n) for n in shape), dtype


def _size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"


def _npy_names(path: Path) -> list[str]:
    """File names stored as a 1-D ``.npy`` array of unicode strings (never bytes or objects)."""
    source = display(path)
    shape, dtype = npy_header(path)
    if dtype.kind != "U" or len(shape) != 1:
        raise IngestError(
            f"{source} must hold a 1-D array of unicode strings (np.save(path, np.array(names)))"
            f", not {len(shape)}-D {'bytes' if dtype.kind == 'S' else dtype.name} values; or "
            "give the names as .txt (one a line) or .json."
        )
    try:
        names = [str(name) for name in np.load(path, allow_pickle=False)]
    except (ValueError, OSError, EOFError, MemoryError):
        raise IngestError(f"{source} is not a readable .npy array: save it with np.save.") from None
    for row, name in enumerate(names, start=1):
        if not name.strip():
            raise IngestError(f"Item {row} of {source} is empty: every row needs a file name.")
    refuse_unstorable_text(names, source)
    return [name.strip() for name in names]


def read_embeddings_npy(path: Path, filenames_path: Path | None) -> EmbeddingFile:
    source = display(path)
    names_path = filenames_path or _sidecar(path)
    if names_path is None:
        raise IngestError(
            f"{source} needs its file names: pass --embedding-filenames NAMES.txt or put "
            f"{path.stem}.filenames.txt (one name a line) or .filenames.json next to it."
        )
    shape, dtype = npy_header(path)
    if len(shape) != 2 or dtype.kind not in "iuf":
        kind = "complex numbers" if dtype.kind == "c" else f"{len(shape)}-D {dtype.name} values"
        raise IngestError(
            f"{source} must hold a 2-D array of real numbers (float or int), not {kind}."
        )
    try:
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, MemoryError):
        raise IngestError(f"{source} is not a readable .npy array: save it with np.save.") from None
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
    except (pa.ArrowInvalid, OSError):  # its text names the server path: never shown
        raise IngestError(
            f"{source} is not a readable Parquet file: it is damaged, cut short or not Parquet."
        ) from None
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
