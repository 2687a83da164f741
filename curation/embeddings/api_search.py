"""The API's sample list for a text search: ranked best first, paginated by rank.

``GET /api/datasets/{id}/samples/?text=QUERY`` answers like every sample list
(``{"next", "previous", "results"}``, ``page_size`` 1..500) but in rank order, each result with
its ``text_similarity`` (cosine; null for a sample without a vector in the space, listed last).
The ``cursor`` of ``next`` / ``previous`` is the rank offset; clients follow the links.
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
from curation.filters_text import text_ranked_page
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


def text_paginate(
    request: Request, dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> Response:
    size = IdCursorPagination().get_page_size(request) or IdCursorPagination.page_size
    offset = _offset(request)
    page, scores, more = text_ranked_page(
        dataset, sample_filter, offset=offset, size=size, samples=samples
    )
    data: list[dict[str, Any]] = list(
        SampleListItemSerializer(page, many=True, context={"request": request}).data
    )
    for item, score in zip(data, scores, strict=False):
        item["text_similarity"] = None if score != score else round(score, 6)  # NaN: no vector
    url = request.build_absolute_uri()
    following = replace_query_param(url, "cursor", offset + size) if more else None
    previous = replace_query_param(url, "cursor", max(0, offset - size)) if offset else None
    return Response({"next": following, "previous": previous, "results": data})
