"""``/api/datasets/``: list, create, detail, delete."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import can_delete_dataset, datasets_visible_to, get_dataset_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.datasets.delete import dataset_delete_start
from curation.datasets.selectors import rows_per_dataset, stored_sample_count
from curation.datasets.serializers import DatasetCreateSerializer, DatasetSerializer
from curation.datasets.services import dataset_create
from curation.jobs.api import JobAcceptedSerializer, job_accepted
from curation.models import Dataset, Tag

TAG = ["datasets"]


def with_counts(queryset: QuerySet[Dataset]) -> QuerySet[Dataset]:
    return queryset.select_related("owner", "team").annotate(
        sample_count=stored_sample_count(), tag_count=rows_per_dataset(Tag)
    )


class DatasetListView(CurationAPIView):
    pagination_class = IdCursorPagination  # documents ?cursor and ?page_size

    @extend_schema(
        tags=TAG,
        operation_id="datasets_list",
        summary="Datasets you own, your teams' datasets (all of them for staff)",
        responses={200: DatasetSerializer(many=True), **errors(400, 401)},
    )
    def get(self, request: Request) -> Response:
        return paginate(
            self, request, with_counts(datasets_visible_to(request.user)), DatasetSerializer
        )

    @extend_schema(
        tags=TAG,
        operation_id="datasets_create",
        summary="Create an empty dataset (owned by you, optionally shared with one of your teams)",
        request=DatasetCreateSerializer,
        responses={201: DatasetSerializer, **errors(400, 401)},
    )
    def post(self, request: Request) -> Response:
        body = DatasetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team = _team_of(request, body.validated_data.get("team"))
        dataset = dataset_create(
            name=body.validated_data["name"],
            description=body.validated_data.get("description", ""),
            owner=request.user,
            team=team,
        )
        dataset = with_counts(Dataset.objects.filter(pk=dataset.pk)).get()
        data = DatasetSerializer(dataset, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class DatasetDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="datasets_retrieve",
        summary="One dataset",
        responses={200: DatasetSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        dataset = with_counts(Dataset.objects.filter(pk=dataset.pk)).get()
        return Response(DatasetSerializer(dataset, context={"request": request}).data)

    @extend_schema(
        tags=TAG,
        operation_id="datasets_destroy",
        summary="Delete a dataset with its samples, tags, runs and files (owner or staff only)",
        description=(
            "Answers 202 at once with the background job that deletes the dataset; poll "
            "`GET /api/jobs/<id>/` (or cancel it: before it has deleted anything, the dataset "
            "comes back unchanged). The dataset is hidden from every list meanwhile. Deleting "
            "again while a delete job is queued or running answers that job; deleting a dataset "
            "a cancelled or failed job left hidden starts a new one."
        ),
        responses={202: JobAcceptedSerializer, **errors(401, 403, 404)},
    )
    def delete(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id, allow_deleting=True)
        if not can_delete_dataset(request.user, dataset):
            raise PermissionDenied(
                f"Only the owner of {dataset.name} ({dataset.owner.username}) or staff may delete "
                "it; ask them."
            )
        return job_accepted(dataset_delete_start(dataset=dataset, user=request.user))


def _team_of(request: Request, name: str | None) -> Group | None:
    """One of the user's own teams (any team for staff), looked up by name."""
    if not name:
        return None
    teams = Group.objects.all() if request.user.is_staff else request.user.groups.all()
    team = teams.filter(name=name).first()
    if team is None:
        raise ValidationError({"team": f"You are not a member of a team named {name!r}."})
    return team
