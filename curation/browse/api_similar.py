"""The API's sample list for find similar: nearest first, paginated by rank.

``GET /api/datasets/{id}/samples/?similar_to=ID[,ID…]`` answers like every sample list
(``{"next", "previous", "results"}``, ``page_size`` 1..500) but in rank order (the query
samples first), each result with its ``similar_distance`` (cosine distance in a normalised
space, else Euclidean; null for a sample without a vector in the space, listed last). The
``cursor`` of ``next`` / ``previous`` is the rank offset; clients follow the links.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from curation.api.pagination import IdCursorPagination
from curation.datasets.serializers import SampleListItemSerializer
from curation.filters import SampleFilter
from curation.filters_similar import similar_ranked_page
from curation.models import Dataset, Sample

MAX_OFFSET = 10_000_000


def _offset(request: Request) -> int:
    raw = request.query_params.get("cursor") or "0"
    try:
        offset = int(raw)
    except ValueError:
        offset = -1
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationError({"cursor": IdCursorPagination.invalid_cursor_message})
    return offset


def similar_paginate(
    request: Request, dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> Response:
    size = IdCursorPagination().get_page_size(request) or IdCursorPagination.page_size
    offset = _offset(request)
    page, distances, more = similar_ranked_page(
        dataset, sample_filter, offset=offset, size=size, samples=samples
    )
    data: list[dict[str, Any]] = list(
        SampleListItemSerializer(page, many=True, context={"request": request}).data
    )
    for item, distance in zip(data, distances, strict=False):
        item["similar_distance"] = None if distance != distance else round(distance, 6)
    url = request.build_absolute_uri()
    following = replace_query_param(url, "cursor", offset + size) if more else None
    previous = replace_query_param(url, "cursor", max(0, offset - size)) if offset else None
    return Response({"next": following, "previous": previous, "results": data})
