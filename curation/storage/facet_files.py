"""The facet index on disk: one ``.npz`` per dataset and data version, so that every process
(web processes, the worker, the CLI) reads the columns an import just built instead of reading
a million rows again (``curation.browse.facet_index``).

Layout: ``VAR_DIR/facet-index/dataset-<id>/v<version>.npz`` (plain arrays, no pickles; the
names, vocabularies and labels travel as one UTF-8 JSON array named ``meta``). Every path goes
through the checked join. A file is written to a temporary name and renamed into place, so a
reader sees a whole file or none; writing a version removes the dataset's other versions (a
version is never read again once the data moved on).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from curation.storage.paths import safe_join


def facet_files_root() -> Path:
    return Path(settings.VAR_DIR) / "facet-index"


def facet_files_dir(dataset_id: int) -> Path:
    return safe_join(facet_files_root(), f"dataset-{int(dataset_id)}")


def _file(dataset_id: int, version: int) -> Path:
    return safe_join(facet_files_dir(dataset_id), f"v{int(version)}.npz")


def facet_file_write(
    *, dataset_id: int, version: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> Path:
    """Store the arrays and ``meta`` of one version; the dataset's other versions go."""
    folder = facet_files_dir(dataset_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = _file(dataset_id, version)
    encoded = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as out:
            stored: dict[str, Any] = {"meta": encoded, **arrays}
            np.savez(out, **stored)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for other in folder.glob("v*.npz"):
        if other.name != target.name:
            other.unlink(missing_ok=True)
    return target


def facet_file_read(
    *, dataset_id: int, version: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The arrays and ``meta`` stored for this version, or None (none stored, or unreadable)."""
    try:
        path = _file(dataset_id, version)
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None  # none stored, or damaged: the caller reads the rows again
    return arrays, meta
