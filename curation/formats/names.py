"""File names read from side files: checked, normalised, and found in a file's columns.

Every file name a reader returns was checked with ``check_file_name`` (no absolute names, no
``..``, NUL, backslash or control characters; ``curation.storage.paths``) or is checked by the
importer before it is matched or stored. ``check_inside`` keeps a folder import inside its
folder. Pure standard library: no Django, no ORM.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path

from curation.formats.records import IngestError
from curation.formats.text import display
from curation.storage.paths import UnsafePathError, is_inside, validate_sample_file_name

FILE_NAME_COLUMNS = ("file_name", "filename", "filenames")
_SHOWN_NAMES = 5

# The image files an import reads (a folder scan skips the rest and lists them as skipped).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})


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
    """The first few of ``names`` for a message: ``a, b, c, d, e (and 7 more)``."""
    names = list(names)
    shown = ", ".join(names[:_SHOWN_NAMES])
    more = f" (and {len(names) - _SHOWN_NAMES} more)" if len(names) > _SHOWN_NAMES else ""
    return f"{shown}{more}"


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
    """The first of ``FILE_NAME_COLUMNS`` among ``columns``; refused when there is none."""
    columns = list(columns)
    for candidate in FILE_NAME_COLUMNS:
        if candidate in columns:
            return candidate
    raise IngestError(
        f"{source} has no file-name column: name one of its columns "
        f"{' or '.join(FILE_NAME_COLUMNS)} (found {', '.join(columns[:8]) or 'none'})."
    )


def check_inside(folder: Path, path: Path) -> None:
    """Files of a folder import are read only when they resolve inside the folder."""
    if not is_inside(folder, path):
        raise IngestError(
            f"{path.name} leads outside {display(folder)} (through a symlink or '..'): keep the "
            "files inside the folder."
        )
    if path.exists() and not (path.is_file() or path.is_dir()):  # a pipe blocks its reader
        raise IngestError(f"{path.name} in {display(folder)} is not a regular file.")
