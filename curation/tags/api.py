"""``/api/datasets/{id}/tags/``: tag CRUD, bulk add / remove, set operations (all via services)."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Count, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.models import Dataset, Tag
from curation.tags.serializers import (
    TagCombineSerializer,
    TagCreateSerializer,
    TagMembersResultSerializer,
    TagMembersSerializer,
    TagSerializer,
    TagUpdateSerializer,
)
from curation.tags.services import (
    tag_add_filter,
    tag_add_samples,
    tag_combine,
    tag_create,
    tag_create_from_filter,
    tag_delete,
    tag_remove_filter,
    tag_remove_samples,
    tag_update,
)

TAG = ["tags"]


def tags_of(dataset: Dataset) -> QuerySet[Tag]:
    return (
        Tag.objects.filter(dataset=dataset)
        .select_related("created_by")
        .annotate(sample_count=Count("memberships"))
    )


def get_tag(dataset: Dataset, tag_id: int) -> Tag:
    tag = Tag.objects.filter(dataset=dataset, pk=tag_id).select_related("dataset").first()
    if tag is None:
        raise Http404("No such tag in this dataset.")
    return tag


def tag_data(tag: Tag) -> dict:
    return dict(TagSerializer(tags_of(tag.dataset).get(pk=tag.pk)).data)


class TagListView(CurationAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        tags=TAG,
        operation_id="tags_list",
        summary="Tags of a dataset with their sample counts",
        responses={200: TagSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        return paginate(self, request, tags_of(dataset), TagSerializer)

    @extend_schema(
        tags=TAG,
        operation_id="tags_create",
        summary="Create a tag from sample ids or from a filter",
        request=TagCreateSerializer,
        responses={201: TagSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = TagCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        common = {
            "dataset": dataset,
            "name": data["name"],
            "created_by": request.user,
            "description": data.get("description", ""),
        }
        if "filter" in data:
            tag = tag_create_from_filter(sample_filter=data["filter"], **common)
        else:
            tag = tag_create(sample_ids=data.get("sample_ids", []), **common)
        return Response(tag_data(tag), status=status.HTTP_201_CREATED)


class TagDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="tags_retrieve",
        summary="One tag (list its samples with /samples/?tag=NAME)",
        responses={200: TagSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, dataset_id: int, tag_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        return Response(tag_data(get_tag(dataset, tag_id)))

    @extend_schema(
        tags=TAG,
        operation_id="tags_rename",
        summary="Rename a tag or change its description",
        request=TagUpdateSerializer,
        responses={200: TagSerializer, **errors(400, 401, 404)},
    )
    def patch(self, request: Request, dataset_id: int, tag_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        tag = get_tag(dataset, tag_id)
        body = TagUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tag = tag_update(
            tag=tag,
            name=body.validated_data.get("name"),
            description=body.validated_data.get("description"),
        )
        return Response(tag_data(tag))

    @extend_schema(
        tags=TAG,
        operation_id="tags_destroy",
        summary="Delete a tag (its samples stay in the dataset)",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 404)},
    )
    def delete(self, request: Request, dataset_id: int, tag_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        tag_delete(tag=get_tag(dataset, tag_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _members_view(
    operation_id: str,
    summary: str,
    by_filter: Callable[..., int],
    by_ids: Callable[..., int],
) -> type[CurationAPIView]:
    """A view that adds or removes samples of a tag, by ids or by filter."""

    class TagMembersView(CurationAPIView):
        @extend_schema(
            tags=TAG,
            operation_id=operation_id,
            summary=summary,
            request=TagMembersSerializer,
            responses={200: TagMembersResultSerializer, **errors(400, 401, 404)},
        )
        def post(self, request: Request, dataset_id: int, tag_id: int) -> Response:
            dataset = get_dataset_for_user(request.user, dataset_id)
            tag = get_tag(dataset, tag_id)
            body = TagMembersSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            if "filter" in body.validated_data:
                changed = by_filter(tag=tag, sample_filter=body.validated_data["filter"])
            else:
                changed = by_ids(tag=tag, sample_ids=body.validated_data["sample_ids"])
            return Response({"changed": changed, "tag": tag_data(tag)})

    return TagMembersView


TagAddView = _members_view(
    "tags_add_samples", "Add samples to a tag, by ids or by filter", tag_add_filter, tag_add_samples
)
TagRemoveView = _members_view(
    "tags_remove_samples",
    "Remove samples from a tag, by ids or by filter",
    tag_remove_filter,
    tag_remove_samples,
)


class TagCombineView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="tags_combine",
        summary="A new tag from the union, intersection or difference of tags",
        request=TagCombineSerializer,
        responses={201: TagSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = TagCombineSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(body.validated_data["tags"]))
        found = {t.pk: t for t in Tag.objects.filter(dataset=dataset, pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError({"tags": f"No tag with id {missing[0]} in {dataset.name}."})
        tag = tag_combine(
            dataset=dataset,
            name=body.validated_data["name"],
            operation=body.validated_data["operation"],
            tags=[found[i] for i in ids],
            created_by=request.user,
        )
        return Response(tag_data(tag), status=status.HTTP_201_CREATED)
