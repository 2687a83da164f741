"""``/api/datasets/{id}/views/``: saved views (a named filter, private or shared with the
dataset's team). Everyone who may see the dataset lists its shared views and their own;
only the owner (or staff) changes or deletes a view (403 for a team member, 404 for a view
or dataset one may not see). Use a view as ``view=NAME`` in ``/samples/``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.browse.saved_views import (
    saved_view_create,
    saved_view_delete,
    saved_view_for_user,
    saved_view_update,
    saved_views_visible,
)
from curation.browse.serializers_saved import (
    SavedViewCreateSerializer,
    SavedViewSerializer,
    SavedViewUpdateSerializer,
)

TAG = ["saved views"]


class SavedViewListView(CurationAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        tags=TAG,
        operation_id="views_list",
        summary="Saved views of a dataset: yours and those shared with the team",
        responses={200: SavedViewSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        views = saved_views_visible(dataset=dataset, user=request.user).order_by("pk")
        return paginate(self, request, views, SavedViewSerializer)

    @extend_schema(
        tags=TAG,
        operation_id="views_create",
        summary="Save a filter under a name",
        request=SavedViewCreateSerializer,
        responses={201: SavedViewSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = SavedViewCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        view = saved_view_create(
            dataset=dataset,
            owner=request.user,
            name=data["name"],
            sample_filter=data["filter"],
            visibility=data["visibility"],
        )
        return Response(SavedViewSerializer(view).data, status=status.HTTP_201_CREATED)


class SavedViewDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="views_retrieve",
        summary="One saved view",
        responses={200: SavedViewSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, dataset_id: int, view_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        view = saved_view_for_user(dataset=dataset, user=request.user, pk=view_id)
        return Response(SavedViewSerializer(view).data)

    @extend_schema(
        tags=TAG,
        operation_id="views_update",
        summary="Rename a saved view, change its filter or who sees it (owner only)",
        request=SavedViewUpdateSerializer,
        responses={200: SavedViewSerializer, **errors(400, 401, 403, 404)},
    )
    def patch(self, request: Request, dataset_id: int, view_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        view = saved_view_for_user(dataset=dataset, user=request.user, pk=view_id, write=True)
        body = SavedViewUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        view = saved_view_update(
            view=view,
            name=data.get("name"),
            sample_filter=data.get("filter"),
            visibility=data.get("visibility"),
        )
        return Response(SavedViewSerializer(view).data)

    @extend_schema(
        tags=TAG,
        operation_id="views_destroy",
        summary="Delete a saved view (owner only)",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 403, 404)},
    )
    def delete(self, request: Request, dataset_id: int, view_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        view = saved_view_for_user(dataset=dataset, user=request.user, pk=view_id, write=True)
        saved_view_delete(view=view)
        return Response(status=status.HTTP_204_NO_CONTENT)
