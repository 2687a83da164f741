"""``/api/datasets/{id}/samples/``: the browser's filter language, cursor-paginated by id.

``?expand=tags,annotations,scores`` adds those lists to every sample of the page (prefetched:
a constant number of queries per page), so the Python client reads a page's tags and
annotations in one request.
"""

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
from curation.browse.api_ranked import ranked_sample_list
from curation.browse.saved_views import saved_view_expand
from curation.datasets.serializers import (
    SampleDetailSerializer,
    SampleListItemSerializer,
    sample_expand_parse,
)
from curation.filters import SampleFilter, filter_samples
from curation.models import Annotation, Dataset, Sample, Score

TAG = ["samples"]
MAX_PIXELS = 2**31 - 1

FILTER_DESCRIPTION = (
    "The same filter parameters as the sample browser's URL (and `manage.py select --where`). "
    "Besides the parameters listed, numeric metadata ranges `min:KEY=X` / `max:KEY=Y` (e.g. "
    "`min:lightly.sharpness=50`) and metadata values `meta:KEY=VALUE` (repeatable) are accepted. "
    "Text search: `text=QUERY` (with `space=NAME` when several spaces have a text model, "
    "`text_top=N` to keep the N best) lists the samples best match first, each with its "
    "`text_similarity`, paginated by rank. Find similar: `similar_to=ID[,ID…]` (with `space=NAME` "
    "when the dataset has several spaces, `similar_top=N` to keep the N nearest) lists the "
    "samples nearest first (the query samples first), each with its `similar_distance`."
)
FILTER_PARAMETERS = [
    OpenApiParameter("tag", str, many=True, explode=True, description="In any of these tags."),
    OpenApiParameter("exclude_tag", str, many=True, explode=True, description="In none of these."),
    OpenApiParameter("label", str, many=True, explode=True, description="Has one of these labels."),
    OpenApiParameter("task", str, description="…in this task (ground_truth or a prediction task)."),
    OpenApiParameter("q", str, description="File name contains this text (case-insensitive)."),
    OpenApiParameter(
        "video", str, many=True, explode=True, description="A frame of one of these videos (names)."
    ),
    OpenApiParameter(
        "frames",
        str,
        description="Frame indexes START-END, inclusive; open ends allowed (100-, -50).",
    ),
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


EXPAND_PARAMETER = OpenApiParameter(
    "expand",
    str,
    description="Comma-separated: tags, annotations, scores — add these lists to every sample.",
)
NOT_FILTERS = frozenset({"expand"})


def parse_filter(request: Request, dataset: Dataset) -> SampleFilter:
    """The request's filter, ``view=NAME`` expanded (``curation.browse.saved_views``)."""
    params = {k: v for k, v in request.query_params.items() if k in _SizeBounds().fields and v}
    _SizeBounds(data=params).is_valid(raise_exception=True)
    pairs = [
        (key, value)
        for key, values in request.query_params.lists()
        if key not in NOT_FILTERS
        for value in values
    ]
    return SampleFilter.parse(saved_view_expand(dataset=dataset, user=request.user, pairs=pairs))


def annotations_prefetch() -> Prefetch:
    return Prefetch(
        "annotations",
        queryset=Annotation.objects.select_related("task").order_by("task__name", "id"),
    )


def scores_prefetch() -> Prefetch:
    return Prefetch("scores", queryset=Score.objects.order_by("task", "name"))


class SampleListView(CurationAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        tags=TAG,
        operation_id="samples_list",
        summary="Samples of a dataset matching a filter, in id order",
        description=FILTER_DESCRIPTION,
        parameters=[*FILTER_PARAMETERS, EXPAND_PARAMETER],
        responses={200: SampleListItemSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        expand = sample_expand_parse(request.query_params.get("expand"))
        sample_filter = parse_filter(request, dataset)
        samples = filter_samples(dataset, sample_filter).select_related("video")
        if "tags" in expand:
            samples = samples.prefetch_related("tags")
        if "annotations" in expand:
            samples = samples.prefetch_related(annotations_prefetch())
        if "scores" in expand:
            samples = samples.prefetch_related(scores_prefetch())
        ranked = ranked_sample_list(request, dataset, sample_filter, samples)
        if ranked is not None:  # text= best match first, similar_to= nearest first
            return ranked
        return paginate(self, request, samples, SampleListItemSerializer)


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
            .select_related("video")
            .prefetch_related(annotations_prefetch(), scores_prefetch(), "tags")
            .first()
        )
        if sample is None:
            raise Http404("No such sample in this dataset.")
        return Response(SampleDetailSerializer(sample).data)
