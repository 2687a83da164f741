"""Image uploads over the API in batches: resumable sessions, committed all or nothing.

The Python client (``curation.client``) uploads a folder the server cannot read in batches.
A session is a folder ``MEDIA_ROOT/uploads/<dataset id>/<key>/`` named by a key the client
derives from the folder it uploads, so a second call after an interruption finds the files the
first one already sent (``upload_session_open`` lists them with their sizes) and sends only the
rest. Each file is written to a temporary name and renamed, so a file the session holds is
always whole.

``upload_session_commit`` moves the session's files into the dataset's upload folder (its image
root, the same folder the web's "New dataset" upload fills) and starts one import job over that
folder: the job imports exactly the files that are not samples yet. Invariants:

- a file name is checked (``validate_sample_file_name``) before anything is written;
- a dataset that reads its images from a server folder takes no uploads (refused at open);
- a file whose name is already a sample with pixels is not moved (the import would skip it);
- all or nothing per commit: files that a failed or cancelled import left in the upload folder
  (no sample names them) are removed before the next commit moves anything, and only one import
  may run on a dataset while a commit moves files (else ``UploadSessionBusy``, 409);
- sessions untouched for ``SESSION_MAX_AGE_S`` are removed when any session of the dataset opens.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from curation.datasets.uploads import upload_dir
from curation.imports.common import IngestError
from curation.jobs.services import import_job_start
from curation.models import Dataset, Job, Sample
from curation.storage.paths import UnsafePathError, safe_join, validate_sample_file_name
from curation.storage.upload_handlers import StoredUpload
from curation.web.errors import BadInput

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SESSION_MAX_AGE_S = 7 * 24 * 3600
MAX_FILES_PER_BATCH = 500
EMBED_CHOICES = ("auto", "always", "never")


class UploadSessionError(IngestError):
    """A session request that cannot be carried out; the message is one sentence (400)."""


class UploadSessionBusy(BadInput):
    """Another import of the dataset is queued or running (409)."""

    status_code = 409


def sessions_root(dataset: Dataset) -> Path:
    return safe_join(settings.MEDIA_ROOT, f"uploads/{int(dataset.pk)}")


def _session_dir(dataset: Dataset, key: str) -> Path:
    if not KEY_PATTERN.match(key):
        raise UploadSessionError(
            "An upload session key is 8 to 64 letters, digits, '-' or '_'; the client derives "
            "it from the folder it uploads."
        )
    return sessions_root(dataset) / key


def _files_of(folder: Path) -> dict[str, int]:
    """Relative name -> size of every whole file below ``folder`` (temporaries left out)."""
    held: dict[str, int] = {}
    for parent, _dirs, names in os.walk(folder):
        for name in names:
            if name.startswith(".upload-") and name.endswith(".tmp"):
                continue
            full = os.path.join(parent, name)
            held[os.path.relpath(full, folder).replace(os.sep, "/")] = os.path.getsize(full)
    return held


def _sweep_old_sessions(dataset: Dataset) -> None:
    root = sessions_root(dataset)
    if not root.is_dir():
        return
    now = time.time()
    for entry in root.iterdir():
        try:
            old = now - entry.stat().st_mtime > SESSION_MAX_AGE_S
        except OSError:
            continue
        if old:
            shutil.rmtree(entry, ignore_errors=True)


def _refuse_server_folder(dataset: Dataset) -> Path:
    """The dataset's upload folder; an error when it reads its images from a server folder."""
    image_dir = upload_dir(dataset) / "images"
    if dataset.image_root and os.path.realpath(dataset.image_root) != os.path.realpath(image_dir):
        raise UploadSessionError(
            f"Dataset {dataset.name} reads its images from a server folder: add images to it "
            "from that folder, or create another dataset for uploads."
        )
    return image_dir


def upload_session_open(*, dataset: Dataset, key: str) -> dict[str, int]:
    """Create the session ``key`` (or find it again); returns the files it holds by size.
    Refused at once for a dataset that reads its images from a server folder (its commit
    would be), so nothing is uploaded in vain."""
    folder = _session_dir(dataset, key)
    _refuse_server_folder(dataset)
    _sweep_old_sessions(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)
    return _files_of(folder)


def upload_session_files(*, dataset: Dataset, key: str) -> dict[str, int]:
    """The files a session holds (name -> size); an unknown session is an error."""
    folder = _session_dir(dataset, key)
    if not folder.is_dir():
        raise UploadSessionError(f"No upload session {key!r} in {dataset.name}: open it first.")
    return _files_of(folder)


def upload_names_check(names: Iterable[Any], count: int) -> list[str]:
    """The batch's relative names, checked: one string per file, valid and distinct."""
    checked: list[str] = []
    listed = list(names)
    if len(listed) != count:
        raise UploadSessionError(
            f"names lists {len(listed)} names for {count} files: give one name per file."
        )
    for raw in listed:
        if not isinstance(raw, str):
            raise UploadSessionError("names must be a JSON list of strings.")
        try:
            checked.append(validate_sample_file_name(raw))
        except UnsafePathError as exc:
            raise UploadSessionError(str(exc)) from None
    if len(set(checked)) != len(checked):
        duplicate = next(n for n in checked if checked.count(n) > 1)
        raise UploadSessionError(f"The batch names {duplicate!r} twice: send each file once.")
    return checked


def upload_session_add(
    *, dataset: Dataset, key: str, files: list[UploadedFile], names: list[str]
) -> int:
    """Store a batch of files under their checked names; returns how many the session holds.

    Every name is checked before the first file is written; each file lands whole (written to
    a temporary name, then renamed), so an interrupted batch leaves only whole files."""
    folder = _session_dir(dataset, key)
    if not folder.is_dir():
        raise UploadSessionError(f"No upload session {key!r} in {dataset.name}: open it first.")
    if not 1 <= len(files) <= MAX_FILES_PER_BATCH:
        raise UploadSessionError(
            f"Send 1 to {MAX_FILES_PER_BATCH} files per batch (this one has {len(files)})."
        )
    targets = [safe_join(folder, name) for name in upload_names_check(names, len(files))]
    for upload, target in zip(files, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".upload-{uuid.uuid4().hex}.tmp")
        try:
            if isinstance(upload, StoredUpload):
                upload.move_to(tmp)
            else:
                with open(tmp, "wb") as handle:
                    for chunk in upload.chunks():
                        handle.write(chunk)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise UploadSessionError(
                f"The uploaded file {target.name!r} could not be saved "
                f"({exc.strerror or 'a file system error'}): try the batch again."
            ) from None
    os.utime(folder)
    return len(_files_of(folder))


def upload_session_discard(*, dataset: Dataset, key: str) -> None:
    shutil.rmtree(_session_dir(dataset, key), ignore_errors=True)


def _active_import(dataset: Dataset) -> Job | None:
    return (
        Job.objects.filter(dataset=dataset, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
        .exclude(kind=Job.Kind.DELETE)
        .first()
    )


def _remove_strays(image_dir: Path, dataset: Dataset) -> int:
    """Files of the upload folder no sample names (left by a failed or cancelled import)."""
    if not image_dir.is_dir():
        return 0
    known = set(Sample.objects.filter(dataset=dataset).values_list("file_name", flat=True))
    removed = 0
    for name in _files_of(image_dir):
        if name not in known:
            (image_dir / name).unlink(missing_ok=True)
            removed += 1
    return removed


def upload_session_commit(
    *,
    dataset: Dataset,
    key: str,
    user: Any,
    embed: str = "auto",
    video_every: int | None = None,
    video_fps: float | None = None,
) -> Job:
    """Move the session's files into the dataset's upload folder and start the import job
    (videos at ``video_every`` / ``video_fps``, default 1 frame per second).

    Raises ``UploadSessionBusy`` while another import of the dataset is queued or running, and
    ``UploadSessionError`` for an empty session or a dataset that reads its images elsewhere."""
    if embed not in EMBED_CHOICES:
        raise UploadSessionError(f"embed must be one of {', '.join(EMBED_CHOICES)}, not {embed!r}.")
    held = upload_session_files(dataset=dataset, key=key)
    if not held:
        raise UploadSessionError(f"Upload session {key!r} holds no files: send them first.")
    image_dir = _refuse_server_folder(dataset)
    active = _active_import(dataset)
    if active is not None:
        raise UploadSessionBusy(
            f"Another import into {dataset.name} is {active.status} (job {active.pk}): wait for "
            "it to finish, then commit again."
        )
    _remove_strays(image_dir, dataset)
    with_pixels = set(
        Sample.objects.filter(dataset=dataset, width__isnull=False).values_list(
            "file_name", flat=True
        )
    )
    folder = _session_dir(dataset, key)
    image_dir.mkdir(parents=True, exist_ok=True)
    moved = []
    try:
        for name in held:
            if name in with_pixels:
                continue
            target = safe_join(image_dir, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder / name, target)
            moved.append(target)
        job = import_job_start(
            dataset=dataset,
            user=user,
            options={
                "images": str(image_dir),
                "restrict_to_import_roots": False,
                "embed": embed,
                **{k: v for k, v in (("video_every", video_every), ("video_fps", video_fps)) if v},
            },
        )
    except BaseException:
        for target in moved:
            target.unlink(missing_ok=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    return job
