"""Reading text side files: every refusal names the file and the line.

UTF-8 only (a leading BOM is dropped); a line that is not UTF-8, holds a NUL or is over 16 MB is
refused with its line number, and so is text no database can store (a NUL, an unpaired
surrogate). CSV cells become JSON values with ``parse_cell``. Pure standard library.
"""

from __future__ import annotations

import codecs
import csv
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from curation.formats.records import IngestError

MAX_LINE_BYTES = 16 * 1024 * 1024  # one physical line; a CSV field is capped at 128 KB anyway
_INT = re.compile(r"[+-]?\d+")


def display(path: Path | str) -> str:
    """The name a message shows for ``path``: its last component, never the server folder."""
    return Path(path).name or str(path)


def text_lines(handle: BinaryIO, source: str) -> Iterator[str]:
    """The lines of a UTF-8 file opened in binary mode (a leading BOM dropped, line ends kept),
    refusing with its line number a line that is not UTF-8, holds a NUL or is over 16 MB."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise IngestError(
                f"{source} line {number} is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB: "
                "check that it is a text file with one record a line."
            )
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise IngestError(
                f"{source} line {number} is not valid UTF-8: save the file as UTF-8 text."
            ) from None
        if "\x00" in text:
            raise IngestError(
                f"{source} line {number} contains a NUL character (\\0): remove it; text "
                "files may not hold NUL bytes."
            )
        yield text


def csv_rows(handle: BinaryIO, source: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of a UTF-8 CSV file opened in binary mode; a row spanning several
    lines has the number of its last line. Refusals (see ``text_lines``, a cell over 128 KB,
    broken quoting) are ``IngestError`` naming the file and the line."""
    reader = csv.reader(text_lines(handle, source))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            if "field larger than field limit" in str(exc):
                limit = csv.field_size_limit()
                raise IngestError(
                    f"{source} line {line} has a value longer than {limit // 1024} KB, the most "
                    "a CSV cell may hold: check its quoting."
                ) from None
            raise IngestError(
                f"{source} line {line} is not valid CSV ({str(exc)[:80]}): check its quoting."
            ) from None
        yield reader.line_num, row


def parse_cell(text: str) -> Any:
    """A CSV cell as a JSON value: ints, floats, true/false; ``None`` for an empty cell.
    Raises ``ValueError`` for NaN or an infinity."""
    value = text.strip()
    if value == "":
        return None
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if _INT.fullmatch(value):
        return int(value)
    try:
        number = float(value)
    except ValueError:
        return value
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"weather": {"description": "sunny"}}`` -> ``{"weather.description": "sunny"}``."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        dotted = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, f"{dotted}."))
        elif item is not None:
            flat[dotted] = item
    return flat


def unstorable_text(data: Any) -> str | None:
    """What in ``data`` (nested dicts, lists, strings) no database can store as text: a NUL
    (``\\u0000``) or an unpaired surrogate (``\\ud800``), as a noun phrase; None when clean."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a NUL character (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "an unpaired surrogate (\\ud800-\\udfff), which is not text"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def refuse_unstorable_text(record: Any, where: str) -> None:
    """``IngestError`` naming ``where`` when ``record`` holds text no database stores."""
    problem = unstorable_text(record)
    if problem is not None:
        raise IngestError(f"{where} holds {problem}: remove it.")
