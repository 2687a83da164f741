"""``/api/datasets/{id}/tags/{tag_id}/export/``: a tag in any export format of the registry
(``curation.formats.export.FORMATS``) as a file download, through ``tag_export_download``."""

from __future__ import annotations

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
from curation.formats.export import FORMAT_NAMES, FORMATS, formats_help
from curation.tags.api import get_tag
from curation.tags.export import tag_export_download

TAG = ["export"]


class ExportQuerySerializer(StrictSerializer):
    format = serializers.ChoiceField(
        choices=list(FORMAT_NAMES),
        error_messages={
            "invalid_choice": '"{input}" is not a valid choice. Use one of '
            + ", ".join(FORMAT_NAMES)
            + "."
        },
    )
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
        summary=f"Download the samples of a tag: {formats_help()}",
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMAT_NAMES), required=True),
            OpenApiParameter("task", str, description="coco/yolo: annotation task (default GT)."),
            OpenApiParameter("embedding", str, description="lightly-csv: the embedding space."),
        ],
        responses={
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY,
                    description=" or ".join(
                        f.name for f in FORMATS.values() if f.content_type == content_type
                    ),
                )
                for content_type in dict.fromkeys(f.content_type for f in FORMATS.values())
            },
            **errors(400, 401, 404),
        },
    )
    def get(self, request: Request, dataset_id: int, tag_id: int) -> FileResponse:
        dataset = get_dataset_for_user(request.user, dataset_id)
        tag = get_tag(dataset, tag_id)
        query = ExportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        download = tag_export_download(
            dataset=dataset,
            tag=tag,
            format=query.validated_data["format"],
            filename_stem=f"{dataset.name}-{tag.name}",
            task=query.validated_data.get("task"),
            embedding_name=query.validated_data.get("embedding"),
        )
        return FileResponse(
            download.handle,
            as_attachment=True,
            filename=download.filename,
            content_type=download.content_type,
        )
