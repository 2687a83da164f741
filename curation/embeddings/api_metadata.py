"""``/api/datasets/{id}/metadata/typicality/`` and ``…/metadata/similarity/``: compute scores
from embeddings and store them as numeric metadata (background jobs, ``score_metadata``).

Both answer ``202 {"job", "url", "metadata_name"}`` once the request is checked (400 with one
sentence otherwise, nothing recorded); poll the job like an import.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.parsers import StrictJSONParser
from curation.api.serializers_common import StrictIntegerField, StrictSerializer, errors
from curation.api.views_base import CurationAPIView
from curation.embeddings.score_metadata import score_metadata_start
from curation.jobs.api import job_accepted
from curation.models import Job

TAG = ["embeddings"]


class TypicalitySerializer(StrictSerializer):
    metadata_name = serializers.CharField(max_length=100, help_text="The metadata key to write.")
    embedding_model_name = serializers.CharField(
        max_length=100, required=False, help_text="Embedding space (default: the only one)."
    )
    num_nearest_neighbors = StrictIntegerField(min_value=1, max_value=10_000, required=False)


class SimilaritySerializer(StrictSerializer):
    query_tag_name = serializers.CharField(max_length=200, help_text="Tag of the query samples.")
    metadata_name = serializers.CharField(
        max_length=100,
        required=False,
        help_text="The metadata key to write (default: similarity_to_<tag>).",
    )
    embedding_model_name = serializers.CharField(max_length=100, required=False)


class ScoresAcceptedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    url = serializers.CharField()
    metadata_name = serializers.CharField(help_text="The key the values are stored under.")


def _accepted(job: Job, name: str) -> Response:
    response = job_accepted(job)
    return Response({**response.data, "metadata_name": name}, status=status.HTTP_202_ACCEPTED)


class TypicalityMetadataView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="metadata_typicality",
        summary="Store each sample's typicality (K nearest neighbours) as numeric metadata",
        request=TypicalitySerializer,
        responses={202: ScoresAcceptedSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = TypicalitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job, name = score_metadata_start(
            dataset=dataset,
            user=request.user,
            kind="typicality",
            metadata_name=data["metadata_name"],
            embedding_model_name=data.get("embedding_model_name"),
            num_nearest_neighbors=data.get("num_nearest_neighbors", 20),
        )
        return _accepted(job, name)


class SimilarityMetadataView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=TAG,
        operation_id="metadata_similarity",
        summary="Store each sample's similarity to the samples of a tag as numeric metadata",
        request=SimilaritySerializer,
        responses={202: ScoresAcceptedSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = SimilaritySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job, name = score_metadata_start(
            dataset=dataset,
            user=request.user,
            kind="similarity",
            metadata_name=data.get("metadata_name"),
            embedding_model_name=data.get("embedding_model_name"),
            query_tag_name=data["query_tag_name"],
        )
        return _accepted(job, name)
