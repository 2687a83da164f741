"""``/api/datasets/{id}/samples/``: the browser's filter language, cursor-paginated by id."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.datasets.serializers import SampleDetailSerializer, SampleSerializer
from curation.filters import SampleFilter, filter_samples
from curation.models import Annotation, Sample, Score

TAG = ["samples"]
MAX_PIXELS = 2**31 - 1

FILTER_DESCRIPTION = (
    "The same filter parameters as the sample browser's URL (and `manage.py select --where`). "
    "Besides the parameters listed, numeric metadata ranges `min:KEY=X` / `max:KEY=Y` (e.g. "
    "`min:lightly.sharpness=50`) and metadata values `meta:KEY=VALUE` (repeatable) are accepted."
)
FILTER_PARAMETERS = [
    OpenApiParameter("tag", str, many=True, explode=True, description="In any of these tags."),
    OpenApiParameter("exclude_tag", str, many=True, explode=True, description="In none of these."),
    OpenApiParameter("label", str, many=True, explode=True, description="Has one of these labels."),
    OpenApiParameter("task", str, description="…in this task (ground_truth or a prediction task)."),
    OpenApiParameter("q", str, description="File name contains this text (case-insensitive)."),
    *[
        OpenApiParameter(name, int, description=f"Image {name.replace('_', ' ')} in pixels.")
        for name in ("width_min", "width_max", "height_min", "height_max")
    ],
]


class _SizeBounds(serializers.Serializer):
    """Type checks of the pixel bounds before they reach the database."""

    width_min = serializers.IntegerField(min_value=0, max_value=MAX_PIXELS, required=False)
    width_max = serializers.IntegerField(min_value=0, max_value=MAX_PIXELS, required=False)
    height_min = serializers.IntegerField(min_value=0, max_value=MAX_PIXELS, required=False)
    height_max = serializers.IntegerField(min_value=0, max_value=MAX_PIXELS, required=False)


def parse_filter(request: Request) -> SampleFilter:
    params = {k: v for k, v in request.query_params.items() if k in _SizeBounds().fields and v}
    _SizeBounds(data=params).is_valid(raise_exception=True)
    return SampleFilter.parse(request.query_params)


class SampleListView(CurationAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        tags=TAG,
        operation_id="samples_list",
        summary="Samples of a dataset matching a filter, in id order",
        description=FILTER_DESCRIPTION,
        parameters=FILTER_PARAMETERS,
        responses={200: SampleSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        samples = filter_samples(dataset, parse_filter(request))
        return paginate(self, request, samples, SampleSerializer)


class SampleDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="samples_retrieve",
        summary="One sample with its metadata, annotations, scores and tags",
        responses={200: SampleDetailSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, dataset_id: int, sample_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        sample = (
            Sample.objects.filter(dataset=dataset, pk=sample_id)
            .prefetch_related(
                Prefetch(
                    "annotations",
                    queryset=Annotation.objects.select_related("task").order_by("task__name", "id"),
                ),
                Prefetch("scores", queryset=Score.objects.order_by("task", "name")),
                "tags",
            )
            .first()
        )
        if sample is None:
            raise Http404("No such sample in this dataset.")
        return Response(SampleDetailSerializer(sample).data)
