"""Fixtures for job tests: small PNG uploads, a web import helper and a media-folder listing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from curation.models import Job


def png_bytes(colour: int = 0, size: tuple[int, int] = (16, 12)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (colour % 256, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def png(name: str, colour: int = 0) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(colour), content_type="image/png")


def paths_file(names: list[str]) -> SimpleUploadedFile:
    """What ``upload-paths.js`` sends: the relative paths as one JSON file part."""
    return SimpleUploadedFile("relative-paths.json", json.dumps(names).encode())


def media_files() -> list[str]:
    """Every file below MEDIA_ROOT, relative, sorted."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def web_import(client):
    """``web_import(user, name, images, **extra)`` posts "New dataset" and returns the response
    and the job it started (None when the form was refused)."""

    def start(user, name, images, **extra):
        client.force_login(user)
        data = {"name": name, "source": "upload", "images": images, **extra}
        response = client.post(reverse("dataset-create"), data)
        job = Job.objects.filter(dataset_name=name).order_by("-pk").first()
        return response, job

    return start
