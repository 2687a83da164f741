"""Embedding matrices: the Lightly CSV (``curation.formats.lightly``), ``.npy`` with a file-name
list, and Parquet (``embedding_<i>`` columns or one list column).

``read_embeddings`` picks the reader by suffix and checks the result: at least one row, every
file name safe (``check_file_names``) and listed once, every value finite. ``.npy`` files are
checked against their header before anything is allocated and never unpickled. Errors name the
file and the line, row or item. Pure parsing: no Django, no ORM.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.formats.lightly import (
    EMBEDDING_COLUMN,
    FLAG_COLUMNS,
    embedding_columns,
    read_embeddings_csv,
)
from curation.formats.names import check_duplicates, check_file_names, find_file_name_column
from curation.formats.records import EmbeddingFile, IngestError
from curation.formats.text import display, refuse_unstorable_text, text_lines


def read_embeddings(path: Path, filenames_path: Path | None = None) -> EmbeddingFile:
    """The embeddings file ``path`` (.csv, .npy with ``filenames_path`` or a sidecar, .parquet)."""
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


# -- NPY ---------------------------------------------------------------------------------------


def _sidecar(path: Path) -> Path | None:
    for suffix in (".filenames.txt", ".filenames.json"):
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_file_name_list(path: Path) -> list[str]:
    """The file names of an ``.npy`` matrix: a .json list, a 1-D unicode .npy array or a text
    file with one name a line; every name checked, stripped, in order."""
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
    """A 2-D real ``.npy`` matrix with its file names (``filenames_path`` or the sidecar
    ``<stem>.filenames.txt`` / ``.filenames.json``), one name a row."""
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
    matrix = matrix.astype(np.float32, copy=False)  # a float32 file is held once, not twice
    _check_finite(matrix, source, "row")
    return EmbeddingFile(source=source, names=names, matrix=matrix)


_FINITE_BLOCK = 65_536  # rows per block of the finite check (a small boolean temporary)


def _check_finite(matrix: np.ndarray, source: str, unit: str, offset: int = 0) -> None:
    for start in range(0, matrix.shape[0], _FINITE_BLOCK):
        finite = np.isfinite(matrix[start : start + _FINITE_BLOCK])
        if not finite.all():
            row, column = (int(i[0]) for i in np.nonzero(~finite))
            raise IngestError(
                f"{unit.capitalize()} {start + row + offset}, value {column} of {source} is NaN "
                "or infinite: embeddings must be finite."
            )


# -- Parquet -----------------------------------------------------------------------------------


def read_embeddings_parquet(path: Path) -> EmbeddingFile:
    """A Parquet table: a file-name column, the vectors as ``embedding_<i>`` columns or one list
    column, optional ``masked`` / ``selected`` / ``labels`` columns."""
    source = display(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError):  # its text names the server path: never shown
        raise IngestError(
            f"{source} is not a readable Parquet file: it is damaged, cut short or not Parquet."
        ) from None
    columns = table.column_names
    name_column = find_file_name_column(columns, source)
    vector_columns = [c for c in columns if EMBEDDING_COLUMN.fullmatch(c)]
    list_columns = [
        c
        for c in columns
        if pa.types.is_list(table.schema.field(c).type)
        or pa.types.is_large_list(table.schema.field(c).type)
        or pa.types.is_fixed_size_list(table.schema.field(c).type)
    ]
    if vector_columns:
        vector_columns = embedding_columns(columns, source)
        matrix = np.column_stack(
            [table.column(c).to_numpy(zero_copy_only=False) for c in vector_columns]
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
    for flag in FLAG_COLUMNS:
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
