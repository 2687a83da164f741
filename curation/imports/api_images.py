"""Image uploads over the API (``/api/datasets/{id}/uploads/…``) and the in-place check.

The Python client's ``add_images_from_path`` first asks ``import/check/`` whether the server may
read the folder itself (a path below an import root the caller may use, or in embedded mode any
folder for a staff account on the same machine: ``imports.api.local_import_allowed``) and the
dataset may take its images from there (a dataset reads its images from one folder); then it
imports in place (``import/``), else it uploads: open a session (``uploads/``, the key derived
from the folder, so a second call resumes), send batches (``uploads/{key}/files/``: ``file``
parts and a ``names`` JSON list), commit (``uploads/{key}/commit/``: 202 with the import job).
The rules live in ``upload_sessions``; these views check access and the body, nothing more.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.parsers import StrictJSONParser
from curation.api.serializers_common import StrictSerializer, errors
from curation.api.views_base import CurationAPIView
from curation.imports.api import ACCEPTED, import_path_resolve
from curation.imports.common import IngestError
from curation.imports.serializers import VideoRateSerializer
from curation.imports.upload_sessions import (
    EMBED_CHOICES,
    MAX_FILES_PER_BATCH,
    upload_session_add,
    upload_session_commit,
    upload_session_discard,
    upload_session_files,
    upload_session_open,
)
from curation.jobs.api import job_accepted

TAG = ["uploads"]


class SessionOpenSerializer(StrictSerializer):
    key = serializers.CharField(
        max_length=64, help_text="8 to 64 letters, digits, '-' or '_'; the same key resumes."
    )


class SessionSerializer(serializers.Serializer):
    key = serializers.CharField()
    files = serializers.DictField(
        child=serializers.IntegerField(), help_text="Relative name -> size in bytes."
    )


class BatchSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField(), help_text="The images.")
    names = serializers.CharField(
        help_text="JSON list of the images' relative names, one per file part, in order."
    )


class BatchResultSerializer(serializers.Serializer):
    held = serializers.IntegerField(help_text="Files the session holds after this batch.")


class CommitSerializer(VideoRateSerializer):
    embed = serializers.ChoiceField(
        choices=list(EMBED_CHOICES),
        required=False,
        help_text="The built-in embedding: auto (default), always or never.",
    )


class PathCheckSerializer(StrictSerializer):
    images = serializers.CharField(max_length=4096, help_text="A folder on the server.")


class PathCheckResultSerializer(serializers.Serializer):
    in_place = serializers.BooleanField(help_text="Whether import/ may read this folder.")
    detail = serializers.CharField(help_text="Why not, as one sentence (empty when it may).")


class UploadSessionListView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="uploads_session_open",
        summary="Open (or find again) an image upload session of the dataset",
        request=SessionOpenSerializer,
        responses={200: SessionSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = SessionOpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = body.validated_data["key"]
        return Response({"key": key, "files": upload_session_open(dataset=dataset, key=key)})


class UploadSessionDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="uploads_session_retrieve",
        summary="The files an upload session holds (to resume an interrupted upload)",
        responses={200: SessionSerializer, **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int, key: str) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        return Response({"key": key, "files": upload_session_files(dataset=dataset, key=key)})

    @extend_schema(
        tags=TAG,
        operation_id="uploads_session_destroy",
        summary="Discard an upload session and its files",
        responses={204: OpenApiResponse(description="Discarded."), **errors(400, 401, 404)},
    )
    def delete(self, request: Request, dataset_id: int, key: str) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        upload_session_files(dataset=dataset, key=key)  # an unknown session is a 400
        upload_session_discard(dataset=dataset, key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadBatchView(CurationAPIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAG,
        operation_id="uploads_session_add",
        summary=f"Add a batch of up to {MAX_FILES_PER_BATCH} images to an upload session",
        request={"multipart/form-data": BatchSerializer},
        responses={200: BatchResultSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int, key: str) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        form: Any = request.data
        unknown = sorted(set(form.keys()) - {"file", "names"})
        if unknown:
            raise ValidationError({unknown[0]: "Unknown field. Allowed fields: file, names."})
        files = request.FILES.getlist("file")
        if not files:
            raise ValidationError({"file": "Send the images as file parts named 'file'."})
        raw = form.get("names", "")
        try:
            names: Any = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            names = None
        if not isinstance(names, list):
            raise ValidationError({"names": "Send the relative names as a JSON list of strings."})
        held = upload_session_add(dataset=dataset, key=key, files=files, names=names)
        return Response({"held": held})


class UploadCommitView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="uploads_session_commit",
        summary="Import the session's images (a background job; all or nothing)",
        description=(
            "Moves the session's images into the dataset's upload folder and answers 202 with "
            "the import job. 409 while another import of the dataset is queued or running."
        ),
        request=CommitSerializer,
        responses={**ACCEPTED, **errors(409)},
    )
    def post(self, request: Request, dataset_id: int, key: str) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = CommitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        embed = body.validated_data.get("embed", "auto")
        job = upload_session_commit(
            dataset=dataset, key=key, user=request.user, embed=embed, **body.video_options()
        )
        return job_accepted(job)


class ImportPathCheckView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="uploads_import_check",
        summary="Whether the server may import this folder in place (below your import roots)",
        description=(
            "In place when the folder lies below an import root you may use (in embedded mode, "
            "for a staff account calling from the same machine: any folder the server can read) "
            "and the dataset has no image folder yet or reads its images from this one."
        ),
        request=PathCheckSerializer,
        responses={200: PathCheckResultSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = PathCheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        path = body.validated_data["images"]
        try:
            resolved = import_path_resolve(request, path)
        except IngestError as exc:
            return Response({"in_place": False, "detail": str(exc)})
        if not resolved.is_dir():
            return Response({"in_place": False, "detail": f"{path} is not a folder."})
        if dataset.image_root and Path(os.path.realpath(dataset.image_root)) != resolved:
            return Response(
                {
                    "in_place": False,
                    "detail": f"Dataset {dataset.name} reads its images from another folder; "
                    "a dataset takes its images from one folder.",
                }
            )
        return Response({"in_place": True, "detail": ""})
