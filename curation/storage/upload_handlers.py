"""Uploads stream to disk, one closed file each, never whole in memory.

``DiskUploadHandler`` (the only entry of ``FILE_UPLOAD_HANDLERS``) writes every uploaded file
of a request straight to its own temporary file and closes it when the part ends, so neither
a 300 MB file nor 10,000 small ones hold memory or file descriptors. Each file is a
``StoredUpload``: read it with ``chunks()``, or move it into place with ``move_to`` (a rename
on the same file system); a file nobody moved is deleted once its object is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class StoredUpload(UploadedFile):
    """An uploaded file already on disk (closed)."""

    def __init__(self, path: str, name: str, content_type: str, size: int, **extra: Any) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size, **extra)
        self.path = path
        self._cleanup = weakref.finalize(self, _unlink, path)

    def temporary_file_path(self) -> str:
        return self.path

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> StoredUpload:
        self.file = open(self.path, mode or "rb")  # noqa: SIM115 (closed by close())
        return self

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def read(self, *args: Any) -> bytes:
        if self.file is None:
            self.open()
        assert self.file is not None
        return self.file.read(*args)

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            while data := handle.read(chunk_size or self.DEFAULT_CHUNK_SIZE):
                yield data

    def move_to(self, target: Path) -> None:
        """Move the file to ``target`` (whose folder exists); it is then no longer deleted."""
        self.close()
        shutil.move(self.path, target)
        self._cleanup.detach()


class DiskUploadHandler(FileUploadHandler):
    """Every file part straight into a closed temporary file (see the module docstring)."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        fd, self.path = tempfile.mkstemp(
            prefix="curation-upload-", dir=settings.FILE_UPLOAD_TEMP_DIR or None
        )
        self.handle = os.fdopen(fd, "wb")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.handle.write(raw_data)

    def file_complete(self, file_size: int) -> StoredUpload:
        self.handle.close()
        return StoredUpload(
            self.path,
            self.file_name or "file",
            self.content_type or "application/octet-stream",
            file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )

    def upload_interrupted(self) -> None:
        handle = getattr(self, "handle", None)
        if handle is not None:
            handle.close()
            _unlink(self.path)
