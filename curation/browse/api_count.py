"""``GET /api/datasets/{id}/samples/count/``: how many samples match a filter, exact: from the
facet index when one is built (``browse.facet_index``), else one COUNT or its result stored
under the dataset's data version (``browse.filter_cache``).

The same filter parameters as ``/samples/`` (``curation.browse.api.parse_filter``); the Python
client's ``len(query)`` asks this instead of paging through every sample.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.browse.api import FILTER_DESCRIPTION, FILTER_PARAMETERS, parse_filter
from curation.browse.facet_index import index_count
from curation.browse.filter_cache import filter_count


class SampleCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class SampleCountView(CurationAPIView):
    @extend_schema(
        tags=["samples"],
        operation_id="samples_count",
        summary="How many samples of a dataset match a filter",
        description=FILTER_DESCRIPTION,
        parameters=FILTER_PARAMETERS,
        responses={200: SampleCountSerializer, **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        sample_filter = parse_filter(request, dataset)
        count = index_count(dataset, sample_filter)
        if count is None:
            count = filter_count(dataset, sample_filter)
        return Response({"count": count})
