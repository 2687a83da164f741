"""The one checked join: every per-dataset file is reached through ``safe_join``.

A sample's file name is data a user sent (an embeddings file, a COCO file, a metadata CSV, a
folder scan), so it is validated before it is stored (``validate_sample_file_name``) and checked
again every time it is joined to a folder (``safe_join``):

- refused: an empty name, an absolute name, a ``..`` segment, a NUL, a backslash, and (for
  sample file names) any other control character, an unpaired surrogate, a name over 1024
  characters or a folder / file name over 255 bytes (no file system could hold it);
- the joined path is resolved with every symlink (``os.path.realpath``) and must lie inside the
  resolved root, so a symlink inside the folder that leads out of it is refused as well.

Pure standard library (no Django, no ORM): importers run it in worker processes and for 100k+
names, so the common case is a few string tests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "UnsafePathError",
    "fit_file_name",
    "is_inside",
    "safe_join",
    "validate_sample_file_name",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HINT = "file names must be relative paths inside the dataset's folder"
MAX_NAME_CHARS = 1024  # Sample.file_name's max_length
MAX_PART_BYTES = 255  # NAME_MAX of common file systems


class UnsafePathError(ValueError):
    """A file name that could reach outside its folder; the message is one sentence naming it."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"The file name {name!r} {reason}: {_HINT}.")


def _refusal(name: str, *, controls: bool) -> str | None:
    """Why ``name`` is refused, as the end of a sentence, or None when it is fine."""
    if "\x00" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "contains a backslash"
    if controls and _CONTROL.search(name):
        return "contains a control character"
    stripped = name.strip()
    if not stripped or stripped in (".", "./"):
        return "is empty"
    if stripped[0] == "/" or os.path.isabs(stripped):
        return "is an absolute path"
    if ".." in stripped and ".." in stripped.split("/"):
        return "contains a '..' segment"
    if controls:
        return _unstorable(stripped)
    return None


def _unstorable(name: str) -> str | None:
    """Why no file system (or database) can hold ``name``: an unpaired surrogate, a name over
    ``MAX_NAME_CHARS`` characters or a folder / file name over ``MAX_PART_BYTES`` bytes."""
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate, which is not text"
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    if len(encoded) > MAX_PART_BYTES and any(
        len(part.encode()) > MAX_PART_BYTES for part in name.split("/")
    ):
        return f"has a folder or file name longer than {MAX_PART_BYTES} bytes"
    return None


def validate_sample_file_name(name: str) -> str:
    """``name`` as a normalised relative POSIX name (surrounding blanks, ``./``, empty and ``.``
    segments removed), or ``UnsafePathError``."""
    if not isinstance(name, str):
        raise UnsafePathError(str(name), "is not text")
    reason = _refusal(name, controls=True)
    if reason is not None:
        raise UnsafePathError(name, reason)
    stripped = name.strip()
    if (
        "//" not in stripped
        and "/./" not in stripped
        and stripped[:2] != "./"
        and stripped[-1] not in "/."
    ):
        return stripped  # already normal: most names
    parts = [part for part in stripped.split("/") if part not in ("", ".")]
    if not parts:
        raise UnsafePathError(name, "is empty")
    return "/".join(parts)


def is_inside(root: str | Path, path: str | Path) -> bool:
    """Whether ``path``, with every symlink resolved, is ``root`` (resolved) or below it."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real == real_root or real.is_relative_to(real_root)


def safe_join(root: str | Path, relative: str) -> Path:
    """``root/relative`` with every symlink resolved, proven to lie inside the resolved ``root``.

    Raises ``UnsafePathError`` for a name that is empty, absolute, has a ``..`` segment, a NUL or
    a backslash, or whose resolved form leaves ``root`` (a symlink pointing out). The file need
    not exist (destinations of writes are joined here too).
    """
    if not str(root):
        raise UnsafePathError(relative, "has no folder to be read from")
    reason = _refusal(relative, controls=False)
    if reason is not None:
        raise UnsafePathError(relative, reason)
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(os.path.join(real_root, relative)))
    if real == real_root:
        raise UnsafePathError(relative, "names its folder itself, not a file in it")
    if not real.is_relative_to(real_root):
        raise UnsafePathError(relative, "leads outside its folder through a symlink")
    return real


def fit_file_name(name: str, limit: int = MAX_PART_BYTES) -> str:
    """``name`` (one file name, no folders) shortened to at most ``limit`` UTF-8 bytes, its
    extension kept: an uploaded side file is stored under its own name, whatever its length."""
    if len(name.encode("utf-8", "replace")) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix.encode("utf-8", "replace")) > 16:
        stem, dot, suffix = name, "", ""
    budget = limit - len((dot + suffix).encode("utf-8", "replace"))
    short = stem.encode("utf-8", "replace")[:budget].decode("utf-8", "ignore")
    return short + dot + suffix
