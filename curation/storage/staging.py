"""Staging folders: where an import writes its files until its rows are committed.

An import never writes a thumbnail into the dataset's media folder directly. Thumbnails land in
a staging folder (``MEDIA_ROOT/staging/<key>/``, mirroring MEDIA_ROOT's layout below it) and are
moved into place (``os.replace``, same file system) only after the transaction that writes their
sample rows has committed. A job's uploaded files wait in the same folder (``uploads/``).

Invariant: after ``staging_settle`` a staged thumbnail is in place exactly when a sample row
names it (``Sample.thumbnail``), so a crash at any point — before, during or after the commit —
leaves no orphan thumbnail and loses none: the database decides. Keys:

- ``job-<id>``: the staging folder of a background job, settled when the job ends or is
  recovered;
- ``proc-<pid>-<random>-<host>``: an import run in a process without a job (the CLI, an upload
  request being parsed); swept once that process is gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid
from collections import defaultdict
from pathlib import Path

from django.conf import settings

from curation.imports.images import process_alive
from curation.models import Sample

logger = logging.getLogger(__name__)

STAGING = "staging"
MEDIA_PART = "datasets"  # what is below this in a staging folder is promoted into MEDIA_ROOT
FRAMES_PART = "frames"  # video frames (``storage.frames``): promoted the same way
FOREIGN_HOST_MAX_AGE_S = 24 * 3600


def staging_root() -> Path:
    return Path(settings.MEDIA_ROOT) / STAGING


def job_staging_key(job_id: int) -> str:
    return f"job-{job_id}"


def process_staging_key() -> str:
    return f"proc-{os.getpid()}-{uuid.uuid4().hex[:8]}-{socket.gethostname()[:60]}"


def staging_create(key: str) -> Path:
    folder = staging_root() / key
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def staging_path(key: str) -> Path:
    return staging_root() / key


def staged_media_path(staging: Path, relpath: str) -> str:
    """Where the file that will live at ``MEDIA_ROOT/relpath`` is written while staged."""
    return os.path.join(staging, relpath)


def _staged_files(staging: Path) -> list[tuple[str, str]]:
    """(absolute staged path, path relative to MEDIA_ROOT) of every staged media file."""
    found = []
    for part in (MEDIA_PART, FRAMES_PART):
        for folder, _dirs, files in os.walk(staging / part):
            for name in files:
                if name.endswith(".tmp"):
                    continue
                full = os.path.join(folder, name)
                found.append((full, os.path.relpath(full, staging).replace(os.sep, "/")))
    return found


def _promote(full: str, relpath: str) -> None:
    target = os.path.join(settings.MEDIA_ROOT, relpath)
    try:
        os.replace(full, target)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(full, target)


def staging_commit(staging: Path) -> int:
    """Move every staged media file into place (its rows have committed), then remove the
    folder. Returns the number of files moved."""
    files = _staged_files(staging)
    for full, relpath in files:
        _promote(full, relpath)
    shutil.rmtree(staging, ignore_errors=True)
    return len(files)


def staging_discard_media(staging: Path) -> None:
    """Remove the staged media files (thumbnails, frames) but keep the job's uploaded files."""
    shutil.rmtree(staging / MEDIA_PART, ignore_errors=True)
    shutil.rmtree(staging / FRAMES_PART, ignore_errors=True)


def staging_settle(staging: Path) -> tuple[int, int]:
    """Promote the staged thumbnails a sample row names, delete the rest and the folder.

    Used when it is not known whether the import committed (a dead worker, a killed CLI).
    Returns (promoted, removed).
    """
    by_dataset: dict[int, dict[str, str]] = defaultdict(dict)
    frames: dict[int, dict[str, str]] = defaultdict(dict)  # dataset -> {file name: staged}
    for full, relpath in _staged_files(staging):
        parts = relpath.split("/")
        if len(parts) > 2 and parts[0] == MEDIA_PART and parts[1].isdigit():
            by_dataset[int(parts[1])][relpath] = full
        elif parts[0] == FRAMES_PART and len(parts) > 2 and parts[1][8:].isdigit():
            frames[int(parts[1][8:])]["/".join(parts[2:])] = full  # "dataset-<id>"
    promoted = _settle_frames(frames)
    for dataset_id, files in by_dataset.items():
        names = list(files)
        for start in range(0, len(names), 5000):
            chunk = names[start : start + 5000]
            for relpath in Sample.objects.filter(
                dataset_id=dataset_id, thumbnail__in=chunk
            ).values_list("thumbnail", flat=True):
                if not os.path.exists(os.path.join(settings.MEDIA_ROOT, relpath)):
                    _promote(files[relpath], relpath)
                    promoted += 1
    total = sum(len(files) for files in (*by_dataset.values(), *frames.values()))
    shutil.rmtree(staging, ignore_errors=True)
    return promoted, total - promoted


def _settle_frames(frames: dict[int, dict[str, str]]) -> int:
    """Promote the staged frames a frame sample row names; returns how many."""
    promoted = 0
    for dataset_id, files in frames.items():
        names = list(files)
        for start in range(0, len(names), 5000):
            for name in Sample.objects.filter(
                dataset_id=dataset_id,
                video__isnull=False,
                file_name__in=names[start : start + 5000],
            ).values_list("file_name", flat=True):
                relpath = f"{FRAMES_PART}/dataset-{dataset_id}/{name}"
                if not os.path.exists(os.path.join(settings.MEDIA_ROOT, relpath)):
                    _promote(files[name], relpath)
                    promoted += 1
    return promoted


def _older_than(entry: Path, seconds: float) -> bool:
    try:
        return time.time() - entry.stat().st_mtime >= seconds
    except OSError:
        return False


def staging_sweep(*, active_job_ids: set[int]) -> int:
    """Settle staging folders nobody works on any more: jobs not in ``active_job_ids`` and
    process folders whose process is gone (this host) or that are a day old (other hosts).
    Returns the number of folders settled."""
    root = staging_root()
    if not root.is_dir():
        return 0
    host = socket.gethostname()[:60]
    settled = 0
    for entry in root.iterdir():
        name = entry.name
        if name.startswith("job-"):
            suffix = name[4:]
            if not suffix.isdigit() or int(suffix) in active_job_ids:
                continue
        elif name.startswith("proc-"):
            parts = name.split("-", 3)
            if len(parts) < 4 or not parts[1].isdigit():
                continue
            if parts[3] == host:
                if process_alive(int(parts[1])):
                    continue
            elif not _older_than(entry, FOREIGN_HOST_MAX_AGE_S):
                continue
        else:
            continue
        promoted, removed = staging_settle(entry)
        logger.warning(
            "Settled staging folder %s: %s thumbnail(s) kept, %s removed", name, promoted, removed
        )
        settled += 1
    return settled
