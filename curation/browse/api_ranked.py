"""The API's sample list in a ranked order (``text=`` best match first, ``similar_to=``
nearest first), paginated by rank.

``GET /api/datasets/{id}/samples/?text=QUERY`` or ``?similar_to=ID[,ID…]`` answers like every
sample list (``{"next", "previous", "results"}``, ``page_size`` 1..500) but in rank order, each
result with its rank value: ``text_similarity`` (cosine) or ``similar_distance`` (cosine
distance in a normalised space, else Euclidean; the query samples first). The value is null
for a sample without a vector in the space, listed last. The ``cursor`` of ``next`` /
``previous`` is the rank offset; clients follow the links.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from curation.api.pagination import IdCursorPagination, rank_offset, ranked_response
from curation.datasets.serializers import SampleListItemSerializer
from curation.filters import SampleFilter
from curation.filters_similar import similar_ranked_page
from curation.filters_text import text_ranked_page
from curation.models import Dataset, Sample

RankedPage = Callable[..., tuple[Sequence[Sample], Sequence[float], bool]]


def ranked_sample_list(
    request: Request, dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> Response | None:
    """The ranked page when the filter orders the samples (``text=`` or ``similar_to=``),
    else None (the list is paginated by id as usual)."""
    ranked: RankedPage
    if sample_filter.text:
        ranked, field = text_ranked_page, "text_similarity"
    elif sample_filter.similar_to:
        ranked, field = similar_ranked_page, "similar_distance"
    else:
        return None
    size = IdCursorPagination().get_page_size(request) or IdCursorPagination.page_size
    offset = rank_offset(request)
    page, values, more = ranked(dataset, sample_filter, offset=offset, size=size, samples=samples)
    items: list[dict[str, Any]] = list(
        SampleListItemSerializer(page, many=True, context={"request": request}).data
    )
    return ranked_response(
        request, items=items, values=values, field=field, offset=offset, size=size, more=more
    )
