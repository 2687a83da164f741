"""Shared pieces of the importer's ORM side: which paths an import may read, and which of the
dataset's samples a file name written in a side file means.

The readers in ``curation.formats`` return file names as written (each checked with
``check_file_name``); ``FileNameIndex`` maps them to canonical sample file names. Paths given to
an import go through ``resolve_import_path`` (import roots, symlinks resolved, no pipes).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from curation.formats.names import IMAGE_EXTENSIONS, names_sample, normalize_file_name
from curation.formats.records import IngestError
from curation.storage.roots import import_root_of, resolve_below_root, settings_import_roots

__all__ = [
    "IMAGE_EXTENSIONS",
    "FileNameIndex",
    "IngestError",
    "resolve_import_path",
]


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
        _refuse_unknown(unknown, source)
        return mapping

    def resolve_values[V](
        self,
        pairs: Iterable[tuple[str, V]],
        source: str,
        *,
        described: Mapping[str, str] | None = None,
        by_stem: bool = False,
    ) -> dict[str, V]:
        """``{canonical name: value}`` for (written name, value) pairs, without a dict of the
        written names in between (a metadata file of millions of rows); raises as ``resolve``."""
        found: dict[str, V] = {}
        unknown: list[str] = []
        for name, value in pairs:
            hit = self.lookup_stem(name) if by_stem else self.lookup(name)
            if hit is None:
                unknown.append((described or {}).get(name, name))
            else:
                found[hit] = value
        _refuse_unknown(unknown, source)
        return found


def _refuse_unknown(unknown: list[str], source: str) -> None:
    if unknown:
        raise IngestError(
            f"{len(unknown)} file name(s) in {source} match no image of the dataset: "
            f"{names_sample(unknown)}; check the names are relative to the image folder."
        )
