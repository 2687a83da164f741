"""Shared pieces of the importers: the one error class, path safety and file-name resolution.

Every file name read from a side file is checked with ``check_file_name`` (no absolute names, no
``..``, NUL, backslash or control characters) before it is matched or stored."""

from __future__ import annotations

import codecs
import csv
import math
import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from curation.storage.paths import UnsafePathError, validate_sample_file_name
from curation.storage.roots import import_root_of, resolve_below_root, settings_import_roots

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
FILE_NAME_COLUMNS = ("file_name", "filename", "filenames")
_SHOWN_NAMES = 5


class IngestError(ValueError):
    """An import that cannot be carried out; the message says what and where, in one sentence."""


@dataclass(frozen=True)
class AnnotationRecord:
    """One label or box as read from a file; boxes are pixels unless ``normalized``."""

    label: str
    x: float | None = None
    y: float | None = None
    w: float | None = None
    h: float | None = None
    score: float | None = None
    probabilities: list[float] | None = None
    normalized: bool = False  # YOLO: centre x/y and size relative to the image size


@dataclass
class TaskImport:
    """Annotations of one task read from one file or folder, keyed by the file name as written."""

    name: str
    kind: str  # AnnotationTask.Kind value
    categories: list[str]
    source: str
    is_prediction: bool
    by_name: dict[str, list[AnnotationRecord]] = field(default_factory=dict)
    described: dict[str, str] = field(default_factory=dict)  # name -> "image id 7 (a.jpg)"
    match_by_stem: bool = False  # YOLO: label paths lack the image extension


def resolve_import_path(
    path: str | Path,
    *,
    restrict_to_import_roots: bool = True,
    roots: Sequence[Path] | None = None,
) -> Path:
    """The absolute, symlink-free form of ``path``.

    With ``restrict_to_import_roots`` the path as written must lie below one of ``roots``
    (default: ``settings.CURATION_IMPORT_ROOTS``) and, once every ``..`` and symlink is
    resolved, still inside that same root: a symlink into another root is refused too.
    """
    raw = Path(path).expanduser()
    if "\x00" in str(path):
        raise IngestError("The path contains a NUL character: check the path.")
    root = None
    if restrict_to_import_roots:
        # The root first, on the path as written: whether a path outside the user's roots
        # exists is never told (no probing other teams' folders through the error).
        allowed = settings_import_roots() if roots is None else list(roots)
        root = import_root_of(raw, allowed)
        if root is None:
            raise IngestError(
                f"{path} is outside the folders imports may read for you (CURATION_IMPORT_ROOTS "
                "and your teams' import roots): move the files below one of them or ask an "
                "administrator to add the folder."
            )
    try:
        resolved = raw.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        if root is not None and not resolve_below_root(Path(os.path.realpath(raw)), root):
            raise _symlink_out(path, root) from None  # where a link points is not told either
        raise IngestError(f"{path} does not exist: check the path.") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop
        reason = getattr(exc, "strerror", None) or "a symlink loop"
        raise IngestError(f"{path} cannot be read ({reason}).") from None
    if root is not None and not resolve_below_root(resolved, root):
        raise _symlink_out(path, root)
    if not (resolved.is_file() or resolved.is_dir()):  # a named pipe would block its reader
        raise IngestError(f"{path} is not a regular file or folder: check the path.")
    return resolved


def _symlink_out(path: str | Path, root: Path) -> IngestError:
    return IngestError(
        f"{path} leads through a symlink outside the folders imports may read (it leaves "
        f"the import root {root}): import the folder it points to from its own root."
    )


def check_file_name(name: str, where: str) -> str:
    """``name`` normalised (see ``validate_sample_file_name``), or an ``IngestError`` saying
    ``where`` (e.g. "Line 7 of emb.csv") it was found and why it is refused."""
    try:
        return validate_sample_file_name(name)
    except UnsafePathError as exc:
        raise IngestError(
            f"{where}: the file name {exc.name!r} {exc.reason}; file names must be relative "
            "paths inside the dataset's folder."
        ) from None


def check_file_names(
    names: Sequence[str], source: str, *, first: int = 1, unit: str = "line"
) -> None:
    """``check_file_name`` for every name; row 0 is ``unit`` ``first`` of ``source``."""
    for row, name in enumerate(names):
        try:
            validate_sample_file_name(name)
        except UnsafePathError:
            check_file_name(name, f"{unit.capitalize()} {row + first} of {source}")


def normalize_file_name(name: str) -> str:
    """POSIX separators, no leading ``./`` or ``/``; ``a/../b`` collapsed."""
    first, last = name[:1], name[-1:]
    if (  # already normal (most names): no backslash, no "." / ".." / empty component, no
        # surrounding whitespace. Plain string tests: 100k+ names per import.
        first
        and first not in "/."
        and last not in "/."
        and not first.isspace()
        and not last.isspace()
        and "\\" not in name
        and "//" not in name
        and "/." not in name
    ):
        return name
    return _normalize_slowly(name)


def _normalize_slowly(name: str) -> str:
    name = name.strip().replace("\\", "/")
    name = posixpath.normpath(name) if name else name
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def names_sample(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_SHOWN_NAMES])
    more = f" (and {len(names) - _SHOWN_NAMES} more)" if len(names) > _SHOWN_NAMES else ""
    return f"{shown}{more}"


class FileNameIndex:
    """Maps file names written in side files to the dataset's canonical sample file names.

    A name matches exactly (after normalising separators), or else by its base name when exactly
    one sample has that base name (COCO files often list bare file names).
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)
        self._by_base: dict[str, str] | None = None  # built on the first inexact lookup

    def lookup(self, name: str) -> str | None:
        norm = normalize_file_name(name)
        if norm in self.names:
            return norm
        if self._by_base is None:
            by_base: dict[str, list[str]] = {}
            for known in self.names:
                by_base.setdefault(posixpath.basename(known), []).append(known)
            self._by_base = {base: hits[0] for base, hits in by_base.items() if len(hits) == 1}
        return self._by_base.get(posixpath.basename(norm))

    def lookup_stem(self, stem: str) -> str | None:
        """YOLO: ``train/a`` matches ``train/a.jpg`` or ``images/train/a.jpg``."""
        if not hasattr(self, "_by_stem"):
            by_stem: dict[str, list[str]] = {}
            for name in self.names:
                root = posixpath.splitext(name)[0]
                by_stem.setdefault(root, []).append(name)
                if root.startswith("images/"):
                    by_stem.setdefault(root[len("images/") :], []).append(name)
            self._by_stem = {k: v[0] for k, v in by_stem.items() if len(v) == 1}
        return self._by_stem.get(normalize_file_name(stem))

    def resolve(
        self,
        names: Iterable[str],
        source: str,
        *,
        described: Mapping[str, str] | None = None,
        by_stem: bool = False,
    ) -> dict[str, str]:
        """``{written name: canonical name}``; raises naming the unknown ones."""
        mapping: dict[str, str] = {}
        unknown: list[str] = []
        for name in names:
            hit = self.lookup_stem(name) if by_stem else self.lookup(name)
            if hit is None:
                unknown.append((described or {}).get(name, name))
            else:
                mapping[name] = hit
        if unknown:
            raise IngestError(
                f"{len(unknown)} file name(s) in {source} match no image of the dataset: "
                f"{names_sample(unknown)}; check the names are relative to the image folder."
            )
        return mapping


def check_duplicates(names: list[str], source: str, first_line: int = 2) -> None:
    """Raise when a file name appears twice; lines count from ``first_line`` for row 0."""
    seen: dict[str, int] = {}
    for row, name in enumerate(names):
        norm = normalize_file_name(name)
        if norm in seen:
            raise IngestError(
                f"{source} lists {name!r} twice (lines {seen[norm] + first_line} and "
                f"{row + first_line}): each file may appear once."
            )
        seen[norm] = row


def find_file_name_column(columns: Iterable[str], source: str) -> str:
    columns = list(columns)
    for candidate in FILE_NAME_COLUMNS:
        if candidate in columns:
            return candidate
    raise IngestError(
        f"{source} has no file-name column: name one of its columns "
        f"{' or '.join(FILE_NAME_COLUMNS)} (found {', '.join(columns[:8]) or 'none'})."
    )


_INT = re.compile(r"[+-]?\d+")


def parse_cell(text: str) -> Any:
    """A CSV cell as a JSON value: ints, floats, true/false; ``None`` for an empty cell."""
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


def display(path: Path | str) -> str:
    return Path(path).name or str(path)


# -- reading text side files: every refusal names the file and the line ------------------------

MAX_LINE_BYTES = 16 * 1024 * 1024  # one physical line; a CSV field is capped at 128 KB anyway


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
