"""Datasets created from the web: uploaded files land below the dataset's media folder, the
import runs as a background task, and its progress is a small JSON file next to them (shared
storage, so any web process can read what any worker writes)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path, PurePath
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from curation.models import Dataset
from curation.services.datasets import dataset_media_dir

STATUS_FILE = "import-status.json"


def upload_dir(dataset: Dataset) -> Path:
    return dataset_media_dir(dataset.pk) / "upload"


def uploads_save(
    *, dataset: Dataset, images: list[UploadedFile], extra: dict[str, UploadedFile]
) -> dict[str, str]:
    """Write uploaded images to ``upload/images`` (flat, safe names) and the optional files
    (embeddings, metadata, annotations) next to it; returns import options naming them."""
    folder = upload_dir(dataset)
    image_dir = folder / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    for upload in images:
        _write(upload, image_dir / _safe_name(upload.name or "image"))
    options = {"images": str(image_dir)}
    for option, upload in extra.items():
        target = folder / f"{option}-{_safe_name(upload.name or option)}"
        _write(upload, target)
        options[option] = str(target)
    return options


def _safe_name(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name.strip().lstrip(".")
    return base or f"file-{uuid.uuid4().hex[:8]}"


def _write(upload: UploadedFile, target: Path) -> None:
    with open(target, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)


def import_status_write(dataset_id: int, **status: Any) -> None:
    path = dataset_media_dir(dataset_id) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    status["updated"] = timezone.now().isoformat()
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(status))
    os.replace(tmp, path)


def import_status_read(dataset_id: int) -> dict[str, Any] | None:
    path = dataset_media_dir(dataset_id) / STATUS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def dataset_import_run(*, dataset_id: int, options: dict[str, Any], user_id: int | None) -> None:
    """Run the ingest service for a web import and record its progress and outcome."""
    from django.contrib.auth import get_user_model

    from curation.services.ingest import dataset_import

    dataset = Dataset.objects.get(pk=dataset_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    import_status_write(dataset_id, state="running", stage="starting", done=0, total=0)

    def progress(stage: str, done: int, total: int) -> None:
        import_status_write(dataset_id, state="running", stage=stage, done=done, total=total)

    try:
        summary = dataset_import(dataset=dataset, progress=progress, user=user, **options)
    except Exception as exc:  # the message is shown on the dataset page
        import_status_write(dataset_id, state="failed", stage="", done=0, total=0, error=str(exc))
        raise
    import_status_write(
        dataset_id, state="done", stage="", done=1, total=1, summary=summary.lines()
    )
