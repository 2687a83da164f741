"""The ordering hook of the filter language: a filter with ``text=`` is ranked, not id-ordered.

Every place that lists filtered samples in order asks :func:`text_ranked_page` when
``SampleFilter.text`` is set (the browser's grid, the API's sample list and so the client):
one page of the samples best first (``curation.embeddings.text_search``), with their cosine
similarity, addressed by rank offset. A selection run asks :func:`text_rank_ids` for the same
order over its candidates (its engine sees them best first: ``curation.runs.order``). Errors are
``FilterError`` (one sentence), like every other filter problem. Reads only.
"""

from __future__ import annotations

import numpy as np
from django.db.models import QuerySet

from curation.embeddings.text_search import TextSearchError, text_page, text_ranking
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import Dataset, Sample


def text_ranked_page(
    dataset: Dataset,
    sample_filter: SampleFilter,
    *,
    offset: int,
    size: int,
    samples: QuerySet[Sample] | None = None,
) -> tuple[list[Sample], list[float], bool]:
    """Samples ``offset .. offset + size`` of the ranked result, their similarities, and
    whether more follow. ``samples``: the filtered queryset with the caller's ``only`` /
    prefetches (default ``filter_samples``)."""
    if not sample_filter.text:
        raise ValueError("text_ranked_page needs a filter with text=.")
    qs = samples if samples is not None else filter_samples(dataset, sample_filter)
    try:
        return text_page(
            dataset, sample_filter.text, sample_filter.space, qs, offset=offset, size=size
        )
    except TextSearchError as exc:
        raise FilterError(str(exc)) from None


def text_rank_ids(
    dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> np.ndarray | None:
    """The ids of ``samples`` in the filter's rank order (best first, ties by id, samples without
    a vector in the space last by id), or None when the filter has no ``text=``: the order in
    which the samples page and the API list them."""
    if not sample_filter.text:
        return None
    try:
        ranking = text_ranking(dataset, sample_filter.text, sample_filter.space, samples)
    except TextSearchError as exc:
        raise FilterError(str(exc)) from None
    return ranking.ids
