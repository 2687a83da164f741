"""``/api/datasets/{id}/embeddings/``: embedding spaces — upload (.csv / .npy / .parquet via the
ingest service), list, delete."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.serializers_uploads import EmbeddingSpaceSerializer, EmbeddingUploadSerializer
from curation.api.uploads import upload_folder
from curation.api.views_base import CurationAPIView
from curation.api.views_uploads import UPLOAD_PARSERS
from curation.models import EmbeddingSpace
from curation.services.embeddings import embedding_space_delete
from curation.services.ingest import dataset_import

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
        request={"multipart/form-data": EmbeddingUploadSerializer},
        responses={201: EmbeddingSpaceSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = EmbeddingUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        name = data.get("name", "default")
        with upload_folder() as folder:
            path = folder.save(data["file"], "embeddings.csv")
            names = (
                folder.save(data["file_names"], "filenames.txt") if "file_names" in data else None
            )
            dataset_import(
                dataset=dataset,
                embeddings=path,
                embedding_filenames=names,
                embedding_name=name,
                normalize_embeddings=data["normalize"],
                samples_from_embeddings=data["create_samples"],
                embed="never",
                user=request.user,
            )
        space = EmbeddingSpace.objects.get(dataset=dataset, name=name)
        return Response(EmbeddingSpaceSerializer(space).data, status=status.HTTP_201_CREATED)


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
