"""``/api/datasets/{id}/tags/{tag_id}/export/``: a tag in any export format, as a file download
(written by the export service into a private temporary folder, streamed, then removed)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from curation.access import get_dataset_for_user
from curation.api.serializers_common import StrictSerializer, errors
from curation.api.views_base import CurationAPIView
from curation.tags.api import get_tag
from curation.tags.export import FORMATS, tag_export

TAG = ["export"]
# format -> (file suffix, content type)
DOWNLOADS = {
    "filenames": (".txt", "text/plain"),
    "csv": (".csv", "text/csv"),
    "coco": (".json", "application/json"),
    "yolo": (".zip", "application/zip"),
    "lightly-csv": (".csv", "text/csv"),
}


class ExportQuerySerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=list(FORMATS))
    task = serializers.CharField(required=False, max_length=200)
    embedding = serializers.CharField(required=False, max_length=100)


class TagExportView(CurationAPIView):
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Errors are JSON whatever the Accept header asks for; ?format= is ours, not DRF's.
        return (self.renderer_classes[0](), "application/json")

    @extend_schema(
        tags=TAG,
        operation_id="tags_export",
        summary="Download the samples of a tag: filenames, csv, coco, yolo (zip) or lightly-csv",
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), required=True),
            OpenApiParameter("task", str, description="coco/yolo: annotation task (default GT)."),
            OpenApiParameter("embedding", str, description="lightly-csv: the embedding space."),
        ],
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.BINARY, description="filenames"),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="csv"),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.BINARY, description="coco"),
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="yolo"),
            **errors(400, 401, 404),
        },
    )
    def get(self, request: Request, dataset_id: int, tag_id: int) -> FileResponse:
        dataset = get_dataset_for_user(request.user, dataset_id)
        tag = get_tag(dataset, tag_id)
        query = ExportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        fmt = query.validated_data["format"]
        suffix, content_type = DOWNLOADS[fmt]
        folder = Path(tempfile.mkdtemp(prefix="curation-export-"))
        try:
            output = folder / "yolo"
            tag_export(
                dataset=dataset,
                tag=tag,
                format=fmt,
                output=output if fmt == "yolo" else output.with_name("export" + suffix),
                task=query.validated_data.get("task"),
                embedding_name=query.validated_data.get("embedding"),
            )
            if fmt == "yolo":
                archive = shutil.make_archive(str(folder / "export"), "zip", root_dir=output)
                path = Path(archive)
            else:
                path = folder / ("export" + suffix)
            handle = open(path, "rb")  # noqa: SIM115 (closed by FileResponse)
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # the open handle keeps the bytes readable
        filename = f"{dataset.name}-{tag.name}{suffix}"
        return FileResponse(
            handle, as_attachment=True, filename=filename, content_type=content_type
        )
