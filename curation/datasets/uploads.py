"""Datasets created from the web: the uploaded images keep their sub-folders and land below the
dataset's media folder (its image root); the import runs as a background job (``jobs``).

The browser sends the images' relative paths (``webkitRelativePath``) as one JSON list in a
parallel file part, filled in by ``static/curation/upload-paths.js``; without it (no JS, flat
files) each image keeps its base name. Every name goes through the checked join
(``curation.storage.paths``); two images with the same name are refused before anything is
written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from curation.datasets.services import DatasetError, dataset_media_dir
from curation.models import Dataset
from curation.storage.paths import (
    UnsafePathError,
    fit_file_name,
    safe_join,
    validate_sample_file_name,
)
from curation.storage.upload_handlers import StoredUpload

MAX_PATHS_BYTES = 64 << 20


class UploadNameError(DatasetError):
    """An uploaded image's name that cannot be used; the message is one sentence."""


def upload_dir(dataset: Dataset) -> Path:
    return dataset_media_dir(dataset.pk) / "upload"


def upload_names(images: list[UploadedFile], paths: UploadedFile | None) -> list[str]:
    """The relative name of each uploaded image: from the browser's path list when it matches
    the images, else the file's base name. Raises ``UploadNameError`` (one sentence) for a name
    the checked join refuses or a name given twice."""
    names: list[str] | None = None
    if paths is not None and paths.size is not None and paths.size <= MAX_PATHS_BYTES:
        try:
            listed = json.loads(b"".join(paths.chunks()).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            listed = None
        if (
            isinstance(listed, list)
            and len(listed) == len(images)
            and all(isinstance(n, str) for n in listed)
        ):
            names = listed
    if names is None:
        names = [upload.name or "" for upload in images]
    checked = []
    seen: set[str] = set()
    for raw in names:
        try:
            name = validate_sample_file_name(raw)
        except UnsafePathError as exc:
            raise UploadNameError(str(exc)) from None
        if name in seen:
            raise UploadNameError(
                f"Two uploaded images are both named {name!r}: rename one, or upload the "
                "folders that keep them apart."
            )
        seen.add(name)
        checked.append(name)
    _refuse_file_folder_clash(seen)
    return checked


def _refuse_file_folder_clash(names: set[str]) -> None:
    """``a`` and ``a/x.png`` cannot both be uploaded: ``a`` would be a file and a folder."""
    for name in names:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in names:
                raise UploadNameError(
                    f"The uploaded image {folder!r} has the name of the folder of {name!r}: "
                    "rename one of them."
                )


def uploaded_images_save(*, dataset: Dataset, images: list[UploadedFile], names: list[str]) -> Path:
    """Put the uploaded images below ``upload/images`` under their checked relative names;
    returns that folder (the dataset's image root). On failure the folder is removed again."""
    image_dir = upload_dir(dataset) / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    try:
        for upload, name in zip(images, names, strict=True):
            target = safe_join(image_dir, name)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(upload, StoredUpload):
                    upload.move_to(target)
                else:
                    _write(upload, target)
            except OSError as exc:  # its text names server paths: never shown
                raise UploadNameError(
                    f"The uploaded image {name!r} could not be saved "
                    f"({exc.strerror or 'a file system error'}): rename it or try again."
                ) from None
    except BaseException:
        shutil.rmtree(upload_dir(dataset), ignore_errors=True)
        raise
    return image_dir


def side_files_saver(extra: dict[str, UploadedFile]) -> Callable[[Path], dict[str, Any]]:
    """A ``save_files`` for ``import_job_start``: the optional files (embeddings, metadata,
    annotations) into the job's staging folder, under their own base names."""

    def save(staging: Path) -> dict[str, Any]:
        saved = {}
        for option, upload in extra.items():
            folder = staging / "uploads" / option
            folder.mkdir(parents=True, exist_ok=True)
            base = Path((upload.name or "").replace("\\", "/")).name.lstrip(".") or option
            base = fit_file_name(base)
            target = safe_join(folder, base)
            if isinstance(upload, StoredUpload):
                upload.move_to(target)
            else:
                _write(upload, target)
            saved[option] = target
        return saved

    return save


def _write(upload: UploadedFile, target: Path) -> None:
    with open(target, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
