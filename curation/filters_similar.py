"""The ordering hook of ``similar_to=``: a filter with it is ranked by distance, not by id.

Every place that lists filtered samples in order asks :func:`similar_ranked_page` when
``SampleFilter.similar_to`` is set (the browser's grid, the sample page's previous / next,
the API's sample list and so the client): one page of the samples nearest first (the query
samples themselves first; ``curation.browse.similarity``), with their distances, addressed by
rank offset. :func:`ranked_neighbours` gives the previous and next sample of one sample in a
ranked (``text=`` or ``similar_to=``) order. Errors are ``FilterError`` (one sentence), like
every other filter problem. Reads only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from django.db.models import QuerySet

from curation.browse.similarity import SimilarityError, similar_ranking
from curation.embeddings.text_search import TextSearchError, text_ranking
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import Dataset, Sample


def _ranked_ids(
    dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> tuple[np.ndarray, np.ndarray]:
    """(ids in rank order, their distance or similarity) of a ranked filter."""
    f = sample_filter
    try:
        if f.similar_to:
            found = similar_ranking(dataset, f.similar_to, f.space, samples)
            return found.ids, found.distances
        if f.text:
            ranking = text_ranking(dataset, f.text, f.space, samples)
            return ranking.ids, ranking.scores
    except (SimilarityError, TextSearchError) as exc:
        raise FilterError(str(exc)) from None
    raise ValueError("A ranked order needs a filter with text= or similar_to=.")


def similar_ranked_page(
    dataset: Dataset,
    sample_filter: SampleFilter,
    *,
    offset: int,
    size: int,
    samples: QuerySet[Sample] | None = None,
) -> tuple[list[Sample], list[float], bool]:
    """Samples ``offset .. offset + size`` nearest first, their distances (NaN: no vector),
    and whether more follow. ``samples``: the filtered queryset with the caller's ``only`` /
    prefetches (default ``filter_samples``)."""
    if not sample_filter.similar_to:
        raise ValueError("similar_ranked_page needs a filter with similar_to=.")
    qs = samples if samples is not None else filter_samples(dataset, sample_filter)
    ids, distances = _ranked_ids(dataset, sample_filter, qs)
    wanted = ids[offset : offset + size].tolist()
    rows = {s.pk: s for s in qs.filter(pk__in=wanted)}
    page = [rows[pk] for pk in wanted if pk in rows]
    values = [float(d) for d in distances[offset : offset + size]]
    return page, values, offset + size < len(ids)


def similar_rank_ids(
    dataset: Dataset, sample_filter: SampleFilter, samples: QuerySet[Sample]
) -> np.ndarray | None:
    """The ids of ``samples`` nearest first to the filter's ``similar_to=`` samples (the query
    samples themselves first), or None when the filter has none: the order in which the samples
    page and the API list them, and so a selection run's candidate order (``runs.order``)."""
    if not sample_filter.similar_to:
        return None
    ids, _ = _ranked_ids(dataset, sample_filter, samples)
    return ids


def ranked_neighbours(
    dataset: Dataset, sample_filter: SampleFilter, sample_id: int
) -> tuple[int | None, int | None]:
    """The previous and next sample ids of ``sample_id`` in the ranked order of the filter
    (``text=`` or ``similar_to=``); (None, None) when the sample is not in the result."""
    ids, _ = _ranked_ids(dataset, sample_filter, filter_samples(dataset, sample_filter))
    where = np.flatnonzero(ids == sample_id)
    if not len(where):
        return None, None
    i = int(where[0])
    previous = int(ids[i - 1]) if i > 0 else None
    following = int(ids[i + 1]) if i + 1 < len(ids) else None
    return previous, following


def similar_filter(base: SampleFilter, sample_ids: list[int], space: str = "") -> SampleFilter:
    """``base`` ranked nearest first to ``sample_ids`` (in ``space``): its other conditions
    kept, a previous text search or similarity order replaced."""
    return replace(
        base,
        text="",
        text_top=0,
        similar_to=tuple(dict.fromkeys(sample_ids)),
        similar_top=0,
        space=space,
    )
