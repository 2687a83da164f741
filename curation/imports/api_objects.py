"""``POST /api/datasets/{id}/object-embeddings/``: upload object embeddings of a detection task
(multipart: ``file`` .csv or .npy, ``task``, optional ``keys`` (the .npy's key CSV), ``coco``
(the COCO file whose annotation ids the rows use) and ``name``).

Checked and stored at once (201 with the space) or refused whole (400 naming the file and the
line: unknown object or annotation id, box outside the image, zero-area box)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.serializers_common import StrictSerializer, errors
from curation.api.views_base import CurationAPIView
from curation.formats.records import IngestError
from curation.imports.objects import object_embeddings_import
from curation.storage.embeddings import EmbeddingError
from curation.storage.uploads import upload_folder


class ObjectEmbeddingsUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="Object embeddings: .csv or .npy.")
    task = serializers.CharField(max_length=200, help_text="The detection task of the objects.")
    keys = serializers.FileField(required=False, help_text="Key CSV of a .npy file.")
    coco = serializers.FileField(
        required=False, help_text="COCO file whose annotation ids the rows use."
    )
    name = serializers.CharField(
        max_length=100, required=False, help_text="Space name (default objects:<task>)."
    )
    raw = serializers.BooleanField(default=False, help_text="Keep vectors un-normalised.")


class ObjectSpaceSerializer(serializers.Serializer):
    name = serializers.CharField()
    task = serializers.CharField()
    count = serializers.IntegerField()
    dimension = serializers.IntegerField()


class ObjectEmbeddingsUploadView(CurationAPIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=["uploads"],
        operation_id="uploads_object_embeddings",
        summary="Upload object embeddings (one vector per box) of a detection task",
        request={"multipart/form-data": ObjectEmbeddingsUploadSerializer},
        responses={201: ObjectSpaceSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = ObjectEmbeddingsUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        with upload_folder() as folder:
            saved = {
                key: folder.save(data[key], fallback)
                for key, fallback in (("file", "objects.csv"), ("keys", "keys.csv"))
                if key in data
            }
            coco: Path | None = folder.save(data["coco"], "coco.json") if "coco" in data else None
            try:
                space = object_embeddings_import(
                    dataset=dataset,
                    task_name=data["task"],
                    path=saved["file"],
                    keys_path=saved.get("keys"),
                    coco_path=coco,
                    name=data.get("name"),
                    normalize=not data["raw"],
                )
            except (IngestError, EmbeddingError) as exc:
                raise ValidationError({"file": str(exc)}) from None
        payload = {
            "name": space.name,
            "task": data["task"],
            "count": space.count,
            "dimension": space.dimension,
        }
        return Response(ObjectSpaceSerializer(payload).data, status=201)
