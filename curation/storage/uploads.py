"""Uploaded files handed to the ingest services: saved under their own (sanitised) base name in
a private temporary folder, so the services' messages name the file the user sent
("metadata.csv line 7, column 'weather': …"), and removed afterwards."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from curation.storage.paths import fit_file_name


class UploadFolder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = 0

    def save(self, upload: UploadedFile, fallback: str) -> Path:
        """Write ``upload`` to disk; its own folder, so two uploads may share a name."""
        self._count += 1
        folder = self.root / str(self._count)
        folder.mkdir()
        try:
            name = get_valid_filename(Path(upload.name or fallback).name)
        except Exception:  # SuspiciousFileOperation for names like ".."
            name = fallback
        path = folder / fit_file_name(name or fallback)
        with open(path, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        return path


@contextmanager
def upload_folder() -> Iterator[UploadFolder]:
    root = Path(tempfile.mkdtemp(prefix="curation-upload-"))
    try:
        yield UploadFolder(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
