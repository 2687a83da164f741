"""``add_images_from_path``: import a folder in place when the server may read it, else
upload it in resumable batches and commit it all or nothing.

In place: ``import/check/`` says whether the server may read the folder itself — below an
import root the account may use (``CURATION_IMPORT_ROOTS`` / the teams' roots), or, in embedded
mode (``make run``), any folder when a staff account calls from the same machine — and the
dataset may take its images from there; then ``import/`` imports it there (with ``embed``).
Otherwise the images are uploaded to a session whose key is derived from the folder's absolute
path and the dataset, so calling again after an interruption sends only the files the server
does not hold yet (same name and size), then one commit imports them in one background job: a
failed or cancelled job leaves the dataset unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.client.errors import BadRequestError
from curation.client.progress import ProgressBar, progress_enabled
from curation.client.runs import Job

if TYPE_CHECKING:
    from curation.client.datasets import ImageDataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")  # decoded by the server
BATCH_FILES = 100
BATCH_BYTES = 64 << 20


def scan_images(root: Path) -> dict[str, Path]:
    """Relative name (``/``-separated) -> path of every image and video below ``root``,
    sorted."""
    if root.is_file():
        return {root.name: root}
    found: dict[str, Path] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES + VIDEO_SUFFIXES):
                continue
            full = Path(folder) / name
            found[full.relative_to(root).as_posix()] = full
    return found


def session_key(dataset_id: int, root: Path) -> str:
    digest = hashlib.sha256(f"{dataset_id}:{root.resolve()}".encode()).hexdigest()
    return f"c{digest[:40]}"


def _batches(todo: list[tuple[str, Path]]) -> Iterator[list[tuple[str, Path]]]:
    batch: list[tuple[str, Path]] = []
    size = 0
    for name, path in todo:
        length = path.stat().st_size
        if batch and (len(batch) >= BATCH_FILES or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((name, path))
        size += length
    if batch:
        yield batch


def add_images(
    dataset: ImageDataset,
    path: str | Path,
    *,
    embed: bool | str = True,
    show_progress: bool | None = None,
    upload: bool | None = None,
    video_every: int | None = None,
    video_fps: float | None = None,
) -> dict[str, Any]:
    """Import the images and videos of ``path`` (a folder, searched recursively, or one file)
    into ``dataset``; returns the import summary. ``upload``: force (True) or forbid (False)
    the upload instead of the in-place import; default: in place when the server may read it.
    Videos: every ``video_every``-th frame or ``video_fps`` frames per second (default 1)."""
    rate = {
        k: v for k, v in (("video_every", video_every), ("video_fps", video_fps)) if v is not None
    }  # a 0 goes to the server too, which refuses it in one sentence (never silently 1 fps)
    root = Path(path).expanduser().absolute()
    if not root.exists():
        raise BadRequestError(f"{path} does not exist: check the path.")
    mode = ("auto" if embed else "never") if isinstance(embed, bool) else embed
    connection = dataset.connection
    base = f"datasets/{dataset.id}/"
    if upload is not True and root.is_dir():
        check = connection.post(f"{base}import/check/", json={"images": str(root)})
        if check["in_place"]:
            body = {"images": str(root), "embed": mode, **rate}
            accepted = connection.post(f"{base}import/", json=body)
            return Job(connection, accepted["job"], "Importing").wait(show_progress=show_progress)
        if upload is False:
            raise BadRequestError(str(check["detail"]))
    images = scan_images(root)
    if not images:
        raise BadRequestError(
            f"{path} holds no images or videos ({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})."
        )
    key = session_key(dataset.id, root)
    held = connection.post(f"{base}uploads/", json={"key": key})["files"]
    todo = [(n, p) for n, p in images.items() if held.get(n) != p.stat().st_size]
    enabled = progress_enabled(show_progress)
    with ProgressBar("Uploading", len(images), enabled=enabled) as bar:
        done = len(images) - len(todo)
        bar.update(done)
        for batch in _batches(todo):
            with ExitStack() as stack:
                files = [
                    ("file", (Path(name).name, stack.enter_context(open(p, "rb"))))
                    for name, p in batch
                ]
                connection.request(
                    "POST",
                    f"{base}uploads/{key}/files/",
                    files=files,
                    data={"names": json.dumps([name for name, _ in batch])},
                )
            done += len(batch)
            bar.update(done)
    accepted = connection.post(f"{base}uploads/{key}/commit/", json={"embed": mode, **rate})
    return Job(connection, accepted["job"], "Importing").wait(show_progress=show_progress)
