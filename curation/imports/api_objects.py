"""``POST /api/datasets/{id}/object-embeddings/``: upload object embeddings of a detection task
(multipart: ``file`` .csv or .npy, ``task``, optional ``keys`` (the .npy's key CSV), ``coco``
(the COCO file whose annotation ids the rows use), ``name`` and ``raw``), as a background job.

What can be checked at once is (400: the body, an unknown or non-detection task); the files are
then saved into the job's staging folder and the endpoint answers ``202 {"job": id, "url": …}``
like the other uploads. The job (``GET /api/jobs/<id>/``) runs ``dataset_import`` with the
object options: it ends succeeded with ``summary.object_embeddings`` (space name -> [objects,
dimension]), or failed with the importer's one sentence naming the file and the line (unknown
object or annotation id, box outside the image, zero-area box), nothing written; cancellable;
its uploaded files are removed when it ends."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.serializers_common import StrictSerializer
from curation.api.views_base import CurationAPIView
from curation.formats.records import IngestError
from curation.imports.api import ACCEPTED, TAG, UPLOAD_PARSERS, start_upload_job
from curation.imports.objects import detection_task


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


class ObjectEmbeddingsUploadView(CurationAPIView):
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        tags=TAG,
        operation_id="uploads_object_embeddings",
        summary="Upload object embeddings (one vector per box) of a detection task",
        description=(
            "Answers 202 with a background job (poll its URL): it stores the object space "
            "(`summary.object_embeddings`), or fails naming the file and the line of the first "
            "bad row; nothing is written then."
        ),
        request={"multipart/form-data": ObjectEmbeddingsUploadSerializer},
        responses=ACCEPTED,
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = ObjectEmbeddingsUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        try:
            detection_task(dataset, data["task"])
        except IngestError as exc:
            raise ValidationError({"task": str(exc).removeprefix("task: ")}) from None
        files = {
            option: (data[field], fallback)
            for field, option, fallback in (
                ("file", "object_embeddings", "objects.csv"),
                ("keys", "object_ids", "keys.csv"),
                ("coco", "object_coco", "coco.json"),
            )
            if field in data
        }
        options = {
            "object_task": data["task"],
            "object_embedding_name": data.get("name"),
            "normalize_embeddings": not data["raw"],
            "embed": "never",
        }
        return start_upload_job(request, dataset, files, options)
