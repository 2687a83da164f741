"""``/api/embedding-models/`` and ``/api/datasets/{id}/embeddings/compute/``.

The model list shows the registered ONNX models a user may use, by name (paths only to staff).
``POST …/embeddings/compute/`` ``{"model": NAME, "name": SPACE, "batch_size": N}`` starts an
embed job (``compute.embed_job_start``) and answers ``202 {"job", "url"}``; poll or watch the
job like an import, cancel it at ``/api/jobs/{id}/cancel/``. Staff may give server paths
(``image_model``, ``text_model``, ``tokenizer``) instead of a name; others get 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.parsers import StrictJSONParser
from curation.api.serializers_common import StrictIntegerField, StrictSerializer, errors
from curation.api.views_base import CurationAPIView
from curation.embeddings.compute import (
    DEFAULT_BATCH,
    MAX_BATCH,
    EmbedError,
    embed_job_start,
    embedding_model_get_for_user,
    embedding_models_for_user,
)
from curation.jobs.api import JobAcceptedSerializer, job_accepted
from curation.models import EmbeddingModel

TAG = ["embeddings"]
PATH_FIELDS = ("image_model", "text_model", "tokenizer")


class EmbeddingModelSerializer(serializers.ModelSerializer):
    text_search = serializers.BooleanField(source="has_text", read_only=True)

    class Meta:
        model = EmbeddingModel
        fields = ["id", "name", "description", "dimension", "text_search"]


class EmbeddingModelStaffSerializer(EmbeddingModelSerializer):
    class Meta(EmbeddingModelSerializer.Meta):
        fields = [*EmbeddingModelSerializer.Meta.fields, *PATH_FIELDS]


class EmbeddingModelListSerializer(serializers.Serializer):
    results = EmbeddingModelSerializer(many=True)


class ComputeSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, help_text="The embedding space to (re)compute.")
    model = serializers.CharField(
        max_length=100, required=False, help_text="A registered model's name."
    )
    batch_size = StrictIntegerField(min_value=1, max_value=MAX_BATCH, required=False)
    image_model = serializers.CharField(max_length=1024, required=False, help_text="Staff only.")
    text_model = serializers.CharField(max_length=1024, required=False, help_text="Staff only.")
    tokenizer = serializers.CharField(max_length=1024, required=False, help_text="Staff only.")


class EmbeddingModelListView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="embedding_models_list",
        summary="The ONNX embedding models you may use (registered by staff in the admin)",
        responses={200: EmbeddingModelListSerializer, **errors(401)},
    )
    def get(self, request: Request) -> Response:
        models = embedding_models_for_user(request.user).order_by("name")
        serializer = EmbeddingModelStaffSerializer if request.user.is_staff else None
        data = (serializer or EmbeddingModelSerializer)(models, many=True).data
        return Response({"results": data})


class ComputeEmbeddingsView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="embeddings_compute",
        summary="Compute an embedding space with an ONNX model (a background job)",
        request=ComputeSerializer,
        responses={202: JobAcceptedSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = ComputeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        paths = {key: data[key] for key in PATH_FIELDS if data.get(key)}
        if paths and not request.user.is_staff:
            raise PermissionDenied(
                "Only staff may give model paths; choose a registered model by its name."
            )
        if paths and data.get("model"):
            raise EmbedError("Give a registered model's name or model paths, not both.")
        if not paths and not data.get("model"):
            raise EmbedError("Name the model: 'model' is a registered model's name.")
        model = None if paths else embedding_model_get_for_user(request.user, data["model"])
        job = embed_job_start(
            dataset=dataset,
            user=request.user,
            name=data["name"],
            model=model,
            batch_size=data.get("batch_size", DEFAULT_BATCH),
            **paths,
        )
        return job_accepted(job)
