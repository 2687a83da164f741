"""``{% dataset_tabs dataset "runs" %}``: the one tab bar of every dataset page.

Every page scoped to a dataset (samples, tags, objects, videos, map, embeddings, runs and a
run's pages, builder, selection defaults, imports, delete) shows the same tabs in the same
order from ``curation/dataset_tabs.html``, with the page's own tab marked
``aria-current="page"``; a tab is added once, there. The tag reads what the tabs need itself
(whether the dataset has videos, whether the user may delete it) so no view has to remember.
"""

from __future__ import annotations

from typing import Any

from django import template

from curation.access import can_delete_dataset
from curation.models import Dataset
from curation.videos.selectors import dataset_has_videos

register = template.Library()

TABS = ("samples", "tags", "objects", "videos", "map", "embeddings", "runs", "builder", "defaults")


@register.inclusion_tag("curation/dataset_tabs.html", takes_context=True)
def dataset_tabs(context: template.Context, dataset: Dataset, current: str = "") -> dict[str, Any]:
    """``current``: one of :data:`TABS`, ``"delete"``, or ``""`` (a page without its own tab)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "dataset": dataset,
        "current": current,
        "filter_query": context.get("filter_query") or "",
        "has_videos": dataset_has_videos(dataset),
        "can_delete": can_delete_dataset(user, dataset),
    }
