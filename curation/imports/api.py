"""Uploads into a dataset — metadata, annotations, predictions (multipart) and server-side
imports (paths below the import roots) — all through the ingest service, as background jobs.

What can be checked at once is (400: the body, the file type, the paths); the files are then
saved into the job's staging folder and the endpoint answers ``202 {"job": id, "url": …}``.
The job (``GET /api/jobs/<id>/``) ends succeeded with the import summary, or failed with one
sentence naming the file, line and column; all or nothing either way.

Which server paths a request may import (``local_import_allowed``): below the import roots the
caller may use (``import_roots_for_user``), always. Anywhere the server process can read only
in embedded mode (``settings.TEAM_MODE`` off: one machine, SQLite) for a staff account (the
laptop's admin, ``manage.py ensure_admin``) whose request comes from this machine: a loopback
``REMOTE_ADDR`` and no proxy in between (no ``X-Forwarded-For`` / ``Forwarded`` /
``X-Real-IP`` header, no ``CURATION_LOGIN_CLIENT_IP_HEADER``). Team mode never reads outside
the import roots.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.parsers import StrictJSONParser
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.imports.common import resolve_import_path
from curation.imports.serializers import (
    AnnotationUploadSerializer,
    MetadataUploadSerializer,
    PredictionUploadSerializer,
    ServerImportSerializer,
)
from curation.jobs.api import JobAcceptedSerializer, job_accepted
from curation.jobs.services import import_job_start
from curation.models import Dataset
from curation.storage.roots import import_roots_for_user
from curation.storage.uploads import UploadFolder

TAG = ["uploads"]
UPLOAD_PARSERS = [MultiPartParser, FormParser]


ACCEPTED = {202: JobAcceptedSerializer, **errors(400, 401, 404)}
SERVER_PATHS = ("images", "embeddings", "metadata", "annotations", "predictions")
SERVER_OBJECT_OPTIONS = (
    "object_embeddings",
    "object_ids",
    "object_coco",
    "object_task",
    "object_embedding_name",
)
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def local_import_allowed(request: Request) -> bool:
    """Whether this request may import from any folder the server can read (embedded mode,
    a staff account, a request from this machine with no proxy in between); see above."""
    if getattr(settings, "TEAM_MODE", True) or getattr(
        settings, "CURATION_LOGIN_CLIENT_IP_HEADER", ""
    ):
        return False
    meta = request.META
    if any(meta.get(header) for header in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(str(meta.get("REMOTE_ADDR") or ""))
    except ValueError:
        return False
    user = request.user
    return bool(
        address.is_loopback
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
    )


def import_path_resolve(request: Request, path: str) -> Path:
    """``path`` resolved for an import this request starts (``IngestError`` when refused)."""
    if local_import_allowed(request):
        return resolve_import_path(path, restrict_to_import_roots=False)
    roots = import_roots_for_user(request.user)
    return resolve_import_path(path, restrict_to_import_roots=True, roots=roots)


def start_upload_job(
    request: Request,
    dataset: Dataset,
    files: dict[str, tuple[UploadedFile, str]],
    options: dict[str, Any],
) -> Response:
    """Save ``files`` ({import option: (upload, fallback name)}) into a new job's staging folder
    and start the job importing them with ``options``; answer 202 with the job."""

    def save(staging: Path) -> dict[str, Any]:
        folder = UploadFolder(staging / "uploads")
        folder.root.mkdir()
        return {option: folder.save(upload, name) for option, (upload, name) in files.items()}

    job = import_job_start(dataset=dataset, user=request.user, options=options, save_files=save)
    return job_accepted(job)


def _import_one_file(
    request: Request,
    dataset_id: int,
    serializer_class: type[serializers.Serializer],
    default_name: str,
    import_as: str,
) -> Response:
    """Import the uploaded ``file`` as ``import_as`` (an argument of ``dataset_import``) in a
    background job."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    files = {import_as: (body.validated_data["file"], default_name)}
    return start_upload_job(request, dataset, files, {"embed": "never"})


class MetadataUploadView(CurationAPIView):
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        tags=TAG,
        operation_id="uploads_metadata",
        summary="Upload custom metadata (CSV or JSONL) for samples of the dataset",
        request={"multipart/form-data": MetadataUploadSerializer},
        responses=ACCEPTED,
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        return _import_one_file(
            request, dataset_id, MetadataUploadSerializer, "metadata.csv", "metadata"
        )


class AnnotationUploadView(CurationAPIView):
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        tags=TAG,
        operation_id="uploads_annotations",
        summary="Upload ground-truth annotations (COCO .json or classification .csv)",
        request={"multipart/form-data": AnnotationUploadSerializer},
        responses=ACCEPTED,
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        return _import_one_file(
            request, dataset_id, AnnotationUploadSerializer, "annotations.json", "annotations"
        )


class PredictionUploadView(CurationAPIView):
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        tags=TAG,
        operation_id="uploads_predictions",
        summary="Upload model predictions of one task (COCO or classification CSV with scores)",
        request={"multipart/form-data": PredictionUploadSerializer},
        responses=ACCEPTED,
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = PredictionUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        files = {"predictions": (data["file"], "predictions.json")}
        if "coco_reference" in data:
            files["coco_reference"] = (data["coco_reference"], "reference.json")

        def save(staging: Path) -> dict[str, Any]:
            folder = UploadFolder(staging / "uploads")
            folder.root.mkdir()
            saved: dict[str, Any] = {k: folder.save(u, n) for k, (u, n) in files.items()}
            saved["predictions"] = [saved["predictions"]]
            return saved

        options = {"prediction_task": data.get("task"), "embed": "never"}
        job = import_job_start(dataset=dataset, user=request.user, options=options, save_files=save)
        return job_accepted(job)


class ServerImportView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="uploads_server_import",
        summary="Import images and side files from folders on the server (CURATION_IMPORT_ROOTS)",
        description=(
            "Like `manage.py import_dataset`, restricted to paths below the import roots the "
            "caller may use (in embedded mode, a staff account calling from the same machine "
            "may import any folder the server can read). The paths are checked at once (400); "
            "the import runs as a background job (202; poll the job's URL); all or nothing."
        ),
        request=ServerImportSerializer,
        responses=ACCEPTED,
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = ServerImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        for option in (*SERVER_PATHS, "object_embeddings", "object_ids", "object_coco"):
            value = data.get(option)
            for path in value if isinstance(value, list) else [value] if value else []:
                import_path_resolve(request, path)
        options = {
            "images": data.get("images"),
            "embeddings": data.get("embeddings"),
            "embedding_name": data.get("embedding_name", "default"),
            "metadata": data.get("metadata"),
            "annotations": data.get("annotations"),
            "predictions": list(data.get("predictions", [])),
            "embed": data.get("embed", "auto"),
            "restrict_to_import_roots": not local_import_allowed(request),
        }
        options.update({key: data[key] for key in SERVER_OBJECT_OPTIONS if data.get(key)})
        options.update(body.video_options())
        job = import_job_start(dataset=dataset, user=request.user, options=options)
        return job_accepted(job)
