"""Which server folders a user may import from: the one selector every import path asks.

- ``settings.CURATION_IMPORT_ROOTS``: staff only (the operator's own folders).
- ``ImportRoot`` rows (managed in the admin): members of the row's group, and staff; a row
  without a group is staff only.
- The command line (``manage.py import_dataset``) does not ask: the operator may read anything.

``import_root_of`` finds the root a path was given under *before* symlinks are resolved, so a
symlink that leads from one root into another (or out of all of them) is refused by
``resolve_below_root`` even when the user may use both roots.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings

from curation.models import ImportRoot


def settings_import_roots() -> list[Path]:
    return [Path(os.path.abspath(root)) for root in getattr(settings, "CURATION_IMPORT_ROOTS", [])]


def import_roots_for_user(user: Any) -> list[Path]:
    """The folders ``user`` may import from, as absolute paths (no duplicates, settings first)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return []
    rows = ImportRoot.objects.all()
    roots: list[Path] = []
    if user.is_staff:
        roots += settings_import_roots()
    else:
        rows = rows.filter(group__in=user.groups.all())
    roots += [Path(os.path.abspath(path)) for path in rows.values_list("path", flat=True)]
    return list(dict.fromkeys(roots))


def any_import_roots() -> bool:
    """Whether the server has any import root at all (settings or admin)."""
    return bool(settings_import_roots()) or ImportRoot.objects.exists()


def import_root_of(path: str | Path, roots: Iterable[Path]) -> Path | None:
    """The root (as configured) that ``path`` lies below, judged on the path as written (made
    absolute, ``..`` collapsed, symlinks *not* resolved); a root is matched in its configured and
    its resolved form."""
    lexical = Path(os.path.abspath(path))
    for root in roots:
        for form in (Path(os.path.abspath(root)), Path(os.path.realpath(root))):
            if lexical == form or lexical.is_relative_to(form):
                return root
    return None


def resolve_below_root(resolved: Path, root: Path) -> bool:
    """Whether ``resolved`` (symlinks resolved) lies inside ``root`` (resolved)."""
    real_root = Path(os.path.realpath(root))
    return resolved == real_root or resolved.is_relative_to(real_root)
