"""``/api/datasets/{id}/embeddings/``: embedding spaces — upload (.csv / .npy / .parquet via the
ingest service), list, delete."""

from __future__ import annotations

from pathlib import Path

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.imports.api import ACCEPTED, UPLOAD_PARSERS, start_upload_job
from curation.imports.serializers import EmbeddingSpaceSerializer, EmbeddingUploadSerializer
from curation.imports.services import IngestError
from curation.models import EmbeddingSpace
from curation.storage.embeddings import embedding_space_delete

EMBEDDING_SUFFIXES = (".csv", ".npy", ".parquet", ".pq")

TAG = ["embeddings"]


class EmbeddingListView(CurationAPIView):
    pagination_class = IdCursorPagination
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        tags=TAG,
        operation_id="embeddings_list",
        summary="Embedding spaces of a dataset",
        responses={200: EmbeddingSpaceSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        spaces = EmbeddingSpace.objects.filter(dataset=dataset)
        return paginate(self, request, spaces, EmbeddingSpaceSerializer)

    @extend_schema(
        tags=TAG,
        operation_id="embeddings_upload",
        summary="Upload embeddings; rows are matched to samples by file name (all or nothing)",
        description=(
            "The body and the file type are checked at once (400); the import runs as a "
            "background job: 202 with the job's URL, whose summary names the space "
            "(`embeddings`: {name: [rows, dimension]})."
        ),
        request={"multipart/form-data": EmbeddingUploadSerializer},
        responses=ACCEPTED,
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = EmbeddingUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        suffix = Path(data["file"].name or "").suffix.lower()
        if suffix not in EMBEDDING_SUFFIXES:
            raise IngestError(
                f"{Path(data['file'].name or 'The file').name} is not an embeddings file Curation "
                "reads: use .csv (Lightly), .npy (with a file-name list) or .parquet."
            )
        files = {"embeddings": (data["file"], "embeddings.csv")}
        if "file_names" in data:
            files["embedding_filenames"] = (data["file_names"], "filenames.txt")
        options = {
            "embedding_name": data.get("name", "default"),
            "normalize_embeddings": data["normalize"],
            "samples_from_embeddings": data["create_samples"],
            "embed": "never",
        }
        return start_upload_job(request, dataset, files, options)


class EmbeddingDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="embeddings_destroy",
        summary="Delete an embedding space and its stored matrix",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 404)},
    )
    def delete(self, request: Request, dataset_id: int, space_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        space = EmbeddingSpace.objects.filter(dataset=dataset, pk=space_id).first()
        if space is None:
            raise Http404("No such embedding space in this dataset.")
        embedding_space_delete(space=space)
        return Response(status=status.HTTP_204_NO_CONTENT)
