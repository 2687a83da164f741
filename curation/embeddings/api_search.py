"""The API's sample list for a text search: ranked best first, paginated by rank.

``GET /api/datasets/{id}/samples/?text=QUERY`` answers like every sample list
(``{"next", "previous", "results"}``, ``page_size`` 1..500) but in rank order, each result with
its ``text_similarity`` (cosine; null for a sample without a vector in the space, listed last).
The ``cursor`` of ``next`` / ``previous`` is the rank offset; clients follow the links.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from curation.api.pagination import IdCursorPagination, rank_offset, ranked_response
from curation.datasets.serializers import SampleListItemSerializer
from curation.filters import SampleFilter
from curation.filters_text import text_ranked_page
from curation.models import Dataset, Sample


def text_paginate(
    request: Request, dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> Response:
    size = IdCursorPagination().get_page_size(request) or IdCursorPagination.page_size
    offset = rank_offset(request)
    page, scores, more = text_ranked_page(
        dataset, sample_filter, offset=offset, size=size, samples=samples
    )
    items: list[dict[str, Any]] = list(
        SampleListItemSerializer(page, many=True, context={"request": request}).data
    )
    return ranked_response(
        request,
        items=items,
        values=scores,
        field="text_similarity",
        offset=offset,
        size=size,
        more=more,
    )
