"""The frames store: the decoded video frames a dataset keeps, as JPEG files written once at
import, and the one resolver of a sample's file on disk (``sample_file_path``).

Layout: ``MEDIA_ROOT/frames/dataset-<id>/<file name>``, where a frame sample's ``file_name``
(unique per dataset, relative) is ``<video relative path>/<video stem>-<frame index, 6 digits
zero-padded>.jpg`` — the 42nd decoded frame of ``clips/a.mp4`` is ``clips/a.mp4/a-000042.jpg``.
An import writes its frames into its staging folder (``staging/<key>/frames/dataset-<id>/``,
``curation.storage.staging``) and they are moved into place only after the rows commit.

Image samples (``Sample.video_id`` is None) live at ``Dataset.image_root/<file name>``; frame
samples in this store. Every path goes through ``curation.storage.paths.safe_join``.
Every reader of a sample's pixels (media views, thumbnails, pixel metadata, exports, crops)
asks ``sample_file_path``.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image

from curation.storage.paths import UnsafePathError, safe_join
from curation.storage.thumbnails import write_jpeg

__all__ = [
    "FRAMES",
    "FRAME_QUALITY",
    "frame_file_name",
    "frames_relroot",
    "frames_remove",
    "frames_root",
    "sample_file_path",
    "sample_source_path",
    "staged_frame_path",
    "write_frame",
]

FRAMES = "frames"
FRAME_QUALITY = 90


def frames_relroot(dataset_id: int) -> str:
    """The dataset's frames folder relative to MEDIA_ROOT (and to a staging folder)."""
    return f"{FRAMES}/dataset-{int(dataset_id)}"


def frames_root(dataset_id: int) -> Path:
    """``MEDIA_ROOT/frames/dataset-<id>`` (need not exist)."""
    return safe_join(settings.MEDIA_ROOT, frames_relroot(dataset_id))


def frame_file_name(video_name: str, frame_index: int) -> str:
    """The sample file name of frame ``frame_index`` of the video ``video_name`` (relative)."""
    stem = posixpath.splitext(posixpath.basename(video_name))[0] or "frame"
    return f"{video_name}/{stem}-{int(frame_index):06d}.jpg"


def staged_frame_path(staging: Path | str, dataset_id: int, file_name: str) -> Path:
    """Where a frame is written while its import runs (``staging/frames/dataset-<id>/...``)."""
    return safe_join(os.path.join(staging, frames_relroot(dataset_id)), file_name)


def sample_source_path(*, dataset_id: int, image_root: str, file_name: str, is_frame: bool) -> Path:
    """The file of a sample from its parts: a frame in the frames store, an image below the
    dataset's ``image_root``. ``UnsafePathError`` for a name that leaves its folder, or an image
    of a dataset without an image folder."""
    if is_frame:
        return safe_join(frames_root(dataset_id), file_name)
    return safe_join(image_root, file_name)


def sample_file_path(sample: Any) -> Path:
    """The file of ``sample`` (a ``Sample``; reads ``sample.dataset.image_root`` only for
    images)."""
    is_frame = sample.video_id is not None
    return sample_source_path(
        dataset_id=sample.dataset_id,
        image_root="" if is_frame else sample.dataset.image_root,
        file_name=sample.file_name,
        is_frame=is_frame,
    )


def write_frame(image: Image.Image, destination: Path | str) -> int:
    """Write ``image`` as a JPEG at ``destination`` (folders made, atomic rename); returns its
    size in bytes."""
    write_jpeg(image, destination, quality=FRAME_QUALITY)
    return os.stat(destination).st_size


def frames_remove(dataset_id: int, names: list[str] | None = None) -> None:
    """Remove the dataset's frames folder, or only the frames ``names`` (links never
    followed: ``shutil.rmtree`` does not follow them)."""
    if names is None:
        with contextlib.suppress(UnsafePathError):
            shutil.rmtree(frames_root(dataset_id), ignore_errors=True)
        return
    for name in names:
        with contextlib.suppress(UnsafePathError, OSError):
            os.unlink(safe_join(frames_root(dataset_id), name))
