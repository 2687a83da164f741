"""The objects grid of a dataset: crops of the boxes of its detection tasks, filtered by task,
label and tag (an objects tag: its objects; an image tag: the objects on its images), each with
its label, score and a link to its parent image's page.

The query string is the filter (a plain GET form, so it works without JavaScript); pages follow
annotation ids (``after``), and the "more" link appends the next page with htmx (the
``grid-page`` fragment). A GET reads only; the crops it shows are made by the crop view.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_safe

from curation.access import get_dataset_for_user
from curation.objects.crops import DEFAULT_PADDING
from curation.objects.forms import PADDING_CHOICES, ObjectGridForm
from curation.objects.selectors import (
    PAGE_SIZE,
    ObjectsFilterError,
    detection_tasks,
    filter_tags,
    objects_count,
    objects_page,
    objects_query,
)
from curation.web.pages import HtmxRequest, page_partial, render_page

TEMPLATE = "curation/object_grid.html"


def grid_query(filters: dict[str, Any]) -> str:
    """The filter as a query string (no cursor; the default padding left out)."""
    pairs = [(k, filters[k]) for k in ("task", "label", "tag") if filters[k]]
    if filters["padding"] != DEFAULT_PADDING:
        pairs.append(("padding", filters["padding"]))
    return urlencode(pairs)


def crop_query(padding: str) -> str:
    """The query string of a crop's URL for ``padding`` (empty for the default)."""
    return "" if padding == DEFAULT_PADDING else "?" + urlencode({"padding": padding})


def _labels(tasks: list[Any], task_name: str) -> list[str]:
    chosen = [t for t in tasks if t.name == task_name] or tasks
    return sorted({str(c) for t in chosen for c in (t.categories or [])})


@login_required
@require_safe
def object_grid(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    filters = ObjectGridForm(request.GET).filters()
    tasks = detection_tasks(dataset)
    context: dict[str, Any] = {
        "dataset": dataset,
        "filters": filters,
        "filter_query": grid_query(filters),
        "padding": filters["padding"],
        "crop_query": crop_query(filters["padding"]),
        "after": filters["after"],
        "error": "",
        "page": None,
        "count": None,
        "chosen_tag": None,
    }
    partial = page_partial(request, "grid-page", target="more")
    try:
        query = objects_query(
            dataset,
            tasks=tasks,
            task_name=filters["task"],
            label=filters["label"],
            tag_name=filters["tag"],
        )
    except ObjectsFilterError as exc:
        context["error"] = str(exc)
    else:
        size = getattr(settings, "CURATION_OBJECTS_PAGE_SIZE", PAGE_SIZE)
        context["page"] = objects_page(query, after=filters["after"], size=size)
        context["chosen_tag"] = query.tag
        if partial is None:
            context["count"] = objects_count(query)
    if partial is None:
        context.update(
            tasks=tasks,
            labels=_labels(tasks, filters["task"]),
            tags=filter_tags(dataset),
            paddings=PADDING_CHOICES,
        )
    status = 400 if context["error"] and partial is None else 200
    return render_page(request, TEMPLATE, context, partial=partial, target="more", status=status)
