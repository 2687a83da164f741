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
from rest_framework.request import Request
from rest_framework.response import Response

from curation.api.pagination import IdCursorPagination, rank_offset, ranked_response
from curation.datasets.serializers import SampleListItemSerializer
from curation.filters import SampleFilter
from curation.filters_similar import similar_ranked_page
from curation.models import Dataset, Sample


def similar_paginate(
    request: Request, dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> Response:
    size = IdCursorPagination().get_page_size(request) or IdCursorPagination.page_size
    offset = rank_offset(request)
    page, distances, more = similar_ranked_page(
        dataset, sample_filter, offset=offset, size=size, samples=samples
    )
    items: list[dict[str, Any]] = list(
        SampleListItemSerializer(page, many=True, context={"request": request}).data
    )
    return ranked_response(
        request,
        items=items,
        values=distances,
        field="similar_distance",
        offset=offset,
        size=size,
        more=more,
    )
