"""URLs of the browser shared by its pages: the grid for a filter (plus display state) and a
sample's "Find similar" links. No view imports another view for them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from curation.filters import SampleFilter
from curation.filters_similar import similar_filter
from curation.models import Dataset, Sample


def browser_url(
    dataset: Dataset, sample_filter: SampleFilter | None = None, *, display: str = "", **extra: Any
) -> str:
    """The browser's URL for a filter; ``display``: its display state (``boxes=…``)."""
    url = reverse("dataset-browser", args=[dataset.pk])
    query = sample_filter.to_querystring() if sample_filter else ""
    extras = "&".join(f"{k}={v}" for k, v in extra.items() if v not in (None, ""))
    query = "&".join(part for part in (query, display, extras) if part)
    return f"{url}?{query}" if query else url


def find_similar_links(
    dataset: Dataset, sample_filter: SampleFilter, sample: Sample, space_names: list[str]
) -> list[tuple[str, str]]:
    """(space name, browser URL ranked nearest first to ``sample``) per embedding space; the
    URL names the space only when the dataset has several."""
    several = len(space_names) > 1
    return [
        (
            name,
            browser_url(
                dataset, similar_filter(sample_filter, [sample.pk], name if several else "")
            ),
        )
        for name in space_names
    ]


def grid_link(dataset: Dataset, grid_query: str, sample_id: int | None = None) -> str:
    """The browser with the grid's query (filter + display state), its modal on ``sample_id``."""
    query = "&".join(q for q in (grid_query, f"sample={sample_id}" if sample_id else "") if q)
    url = reverse("dataset-browser", args=[dataset.pk])
    return f"{url}?{query}" if query else url
