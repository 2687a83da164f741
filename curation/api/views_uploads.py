"""Uploads into a dataset — metadata, annotations, predictions (multipart) and server-side
imports (paths below CURATION_IMPORT_ROOTS) — all through the ingest service: all or nothing,
errors name the file, line and column."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.parsers import StrictJSONParser
from curation.api.serializers_common import errors
from curation.api.serializers_uploads import (
    AnnotationUploadSerializer,
    ImportSummarySerializer,
    MetadataUploadSerializer,
    PredictionUploadSerializer,
    ServerImportSerializer,
)
from curation.api.uploads import upload_folder
from curation.api.views_base import CurationAPIView
from curation.services.ingest import ImportSummary, dataset_import

TAG = ["uploads"]
UPLOAD_PARSERS = [MultiPartParser, FormParser]


def summary_data(summary: ImportSummary) -> dict[str, Any]:
    return {
        "dataset": summary.dataset.pk,
        "images_added": summary.images_added,
        "images_skipped": summary.images_skipped,
        "images_failed": [list(pair) for pair in summary.images_failed],
        "samples_without_pixels": summary.samples_without_pixels,
        "metadata_rows": summary.metadata_rows,
        "embeddings": {name: list(shape) for name, shape in summary.embeddings.items()},
        "annotations": summary.annotations,
        "scores": summary.scores,
        "tags": summary.tags,
        "notes": summary.notes,
        "seconds": round(summary.seconds, 3),
    }


def _import_one_file(
    request: Request,
    dataset_id: int,
    serializer_class: type[serializers.Serializer],
    default_name: str,
    import_as: str,
) -> Response:
    """Save the uploaded ``file`` and import it as ``import_as`` (an argument of
    ``dataset_import``), all or nothing."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    with upload_folder() as folder:
        source: dict[str, Any] = {import_as: folder.save(body.validated_data["file"], default_name)}
        summary = dataset_import(dataset=dataset, embed="never", user=request.user, **source)
    return Response(summary_data(summary))


class MetadataUploadView(CurationAPIView):
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        tags=TAG,
        operation_id="uploads_metadata",
        summary="Upload custom metadata (CSV or JSONL) for samples of the dataset",
        request={"multipart/form-data": MetadataUploadSerializer},
        responses={200: ImportSummarySerializer, **errors(400, 401, 404)},
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
        responses={200: ImportSummarySerializer, **errors(400, 401, 404)},
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
        responses={200: ImportSummarySerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = PredictionUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with upload_folder() as folder:
            path = folder.save(data["file"], "predictions.json")
            reference = (
                folder.save(data["coco_reference"], "reference.json")
                if "coco_reference" in data
                else None
            )
            summary = dataset_import(
                dataset=dataset,
                predictions=[path],
                prediction_task=data.get("task"),
                coco_reference=reference,
                embed="never",
                user=request.user,
            )
        return Response(summary_data(summary))


class ServerImportView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="uploads_server_import",
        summary="Import images and side files from folders on the server (CURATION_IMPORT_ROOTS)",
        description=(
            "Like `manage.py import_dataset`, restricted to paths below the folders an "
            "administrator listed in CURATION_IMPORT_ROOTS. Runs to completion before answering; "
            "all or nothing."
        ),
        request=ServerImportSerializer,
        responses={200: ImportSummarySerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = ServerImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        summary = dataset_import(
            dataset=dataset,
            images=data.get("images"),
            embeddings=data.get("embeddings"),
            embedding_name=data.get("embedding_name", "default"),
            metadata=data.get("metadata"),
            annotations=data.get("annotations"),
            predictions=data.get("predictions", []),
            restrict_to_import_roots=True,
            user=request.user,
        )
        return Response(summary_data(summary))
