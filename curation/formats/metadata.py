"""Custom metadata: a CSV with a file-name column, or JSON Lines with a ``file_name`` key.

Values keep their type: CSV cells become ints, floats, booleans (true/false) or strings, an empty
cell is a missing value; JSON values are taken as they are. Nested JSON objects flatten to dotted
keys (``{"weather": {"description": "sunny"}}`` -> ``weather.description``). Keys starting with
``lightly.`` (and the caller's ``reserved_keys``) are computed from the pixels and refused. A file
name appears once. Errors name the file and the line. Pure parsing: no Django, no ORM.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from curation.formats.names import FILE_NAME_COLUMNS, find_file_name_column, normalize_file_name
from curation.formats.records import IngestError, MetadataFile
from curation.formats.text import (
    csv_rows,
    display,
    flatten,
    parse_cell,
    refuse_unstorable_text,
    text_lines,
)

_RESERVED_PREFIX = "lightly."
_UNPARSED = object()
_PARSED_CACHE = 1024


def read_metadata(path: Path, *, reserved_keys: Collection[str] = ()) -> MetadataFile:
    """The rows of a .csv or .jsonl metadata file; refused when a file name appears twice or a
    key starts with ``lightly.`` or is one of ``reserved_keys``."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        parsed = _read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        parsed = _read_jsonl(path)
    else:
        raise IngestError(
            f"{display(path)} is not a metadata file Curation reads: use .csv or .jsonl."
        )
    seen: dict[str, int] = {}
    allowed: set[str] = set()  # keys checked already
    for name, values, line in parsed.rows:
        norm = normalize_file_name(name)
        if norm in seen:
            raise IngestError(
                f"{parsed.source} lists {name!r} twice (lines {seen[norm]} and {line}): "
                "each file may appear once."
            )
        seen[norm] = line
        if allowed.issuperset(values):
            continue
        for key in values:
            if key in allowed:
                continue
            allowed.add(key)
            if key.startswith(_RESERVED_PREFIX) or key in reserved_keys:
                raise IngestError(
                    f"Line {line} of {parsed.source} sets {key!r}: keys starting with 'lightly.' "
                    "are computed from the pixels; rename the column."
                )
    return parsed


def _read_csv(path: Path) -> MetadataFile:
    source = display(path)
    rows: list[tuple[str, dict[str, Any], int]] = []
    with open(path, "rb") as handle:
        reader = csv_rows(handle, source)
        header = [c.strip() for c in next(reader, (1, []))[1]]
        if not header:
            raise IngestError(f"{source} is empty: it needs a header line.")
        name_column = find_file_name_column(header, source)
        for position, column in enumerate(header, start=1):
            if not column:
                raise IngestError(f"Column {position} of {source} has no name (line 1).")
            if header.count(column) > 1:
                raise IngestError(f"{source} names column {column!r} twice (line 1).")
        name_index = header.index(name_column)
        # Each column remembers its parsed cells: metadata repeats values (categories,
        # flags), and parse_cell is pure. Capped, for columns of unique numbers.
        value_columns: list[tuple[int, str, dict[str, Any]]] = [
            (index, column, {}) for index, column in enumerate(header) if index != name_index
        ]
        width = len(header)
        for line, row in reader:
            if len(row) != width:
                if not row or all(not cell.strip() for cell in row):
                    continue
                raise IngestError(
                    f"Line {line} of {source} has {len(row)} values but the header names "
                    f"{len(header)} columns."
                )
            name = row[name_index].strip()
            if not name:
                if all(not cell.strip() for cell in row):
                    continue
                raise IngestError(f"The file name is empty at line {line} of {source}.")
            values: dict[str, Any] = {}
            for index, column, parsed in value_columns:
                cell = row[index]
                value = parsed.get(cell, _UNPARSED)
                if value is _UNPARSED:
                    try:
                        value = parse_cell(cell)
                    except ValueError as exc:
                        raise IngestError(
                            f"Line {line}, column {column} of {source}: {exc}; metadata "
                            "must be finite numbers, true/false or text."
                        ) from None
                    if len(parsed) < _PARSED_CACHE:
                        parsed[cell] = value
                if value is not None:
                    values[column] = value
            rows.append((name, values, line))
    return MetadataFile(source=source, rows=rows)


def _reject_non_finite(text: str) -> float:
    raise ValueError(f"{text} is not a finite number")


def _read_jsonl(path: Path) -> MetadataFile:
    source = display(path)
    rows: list[tuple[str, dict[str, Any], int]] = []
    with open(path, "rb") as handle:
        for line, text in enumerate(text_lines(handle, source), start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text, parse_constant=_reject_non_finite)
            except RecursionError:
                raise IngestError(f"Line {line} of {source} is nested too deeply.") from None
            except ValueError as exc:
                raise IngestError(f"Line {line} of {source} is not valid JSON ({exc}).") from None
            refuse_unstorable_text(record, f"Line {line} of {source}")
            if not isinstance(record, dict):
                raise IngestError(f"Line {line} of {source} must be a JSON object.")
            key = next((k for k in FILE_NAME_COLUMNS if k in record), None)
            name = record.pop(key, None) if key else None
            if not isinstance(name, str) or not name.strip():
                raise IngestError(
                    f"Line {line} of {source} has no file_name: every object needs a "
                    '"file_name" key with the image path.'
                )
            rows.append((name.strip(), flatten(record), line))
    return MetadataFile(source=source, rows=rows)
