"""The sample browser (the dataset's main page) with its sample modal.

The URL query string is the filter (``curation.filters``): the sidebar form GETs the same URL,
htmx swaps ``#results`` and pushes the canonical URL, infinite scroll appends ``#grid-page``.
Display state rides along in the URL but is not part of the filter: ``boxes=`` (the tasks
drawn over the thumbnails, ``curation.browse.overlays``) and ``sample=ID`` (the sample modal
over the grid, rendered by ``views_sample.sample_modal_html``; htmx requests targeting
``#modal-root`` get only the modal, so opening, stepping and closing push URLs that a reload
or Back restores). The thumbnail size is a per-user preference (``views_display``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string

from curation.access import can_delete_dataset, get_dataset_for_user
from curation.browse.forms import THUMBNAIL_SIZES
from curation.browse.links import browser_url
from curation.browse.overlays import NO_BOXES, legend, overlay_tasks, page_overlays
from curation.browse.saved_views import saved_view_expand, saved_views_visible
from curation.browse.selectors import (
    PAGE_SIZE,
    annotation_tasks,
    metadata_fields,
    result_count,
    result_page,
    size_bounds,
    tags_with_counts,
)
from curation.browse.similarity import similarity_space_names
from curation.browse.views_display import thumbnail_size
from curation.browse.views_facets import REFRESH_EVENT, filter_changed
from curation.browse.views_sample import sample_modal_html
from curation.embeddings.text_search import text_space_names
from curation.filters import FilterError, SampleFilter
from curation.models import AnnotationTask, Dataset
from curation.videos.filmstrips import page_filmstrips
from curation.videos.selectors import sidebar_videos
from curation.web.pages import HtmxRequest, page_partial, render_page

TEMPLATE = "curation/browser.html"


def _after(request: HtmxRequest) -> int:
    try:
        return max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        return 0


def _has_blank_values(request: HtmxRequest) -> bool:
    return any(v.strip() == "" for _, values in request.GET.lists() for v in values)


@login_required
def browser(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    error = ""
    try:
        pairs = [(k, v) for k, values in request.GET.lists() for v in values]
        sample_filter = SampleFilter.parse(
            saved_view_expand(dataset=dataset, user=request.user, pairs=pairs)
        )
    except FilterError as exc:
        error, sample_filter = str(exc), SampleFilter()
    after = _after(request)
    tasks = annotation_tasks(dataset)
    boxes = overlay_tasks(request.GET.getlist("boxes"), tasks)
    display = _display_query(tasks, boxes)
    if not request.htmx and not error and _has_blank_values(request):
        # A form GET without JavaScript sends every empty field: show the canonical URL.
        return HttpResponseRedirect(
            browser_url(dataset, sample_filter, display=display, after=after or None)
        )
    context: dict[str, Any] = {
        "dataset": dataset,
        "filter": sample_filter,
        "filter_query": sample_filter.to_querystring(),
        "error": error,
        "after": after,
        "page": None,
        "count": None,
        "strips": [],  # the page's frames, one filmstrip per video (curation.videos.filmstrips)
        "images": [],
        "similar_spaces": similarity_space_names(dataset),
        "boxes": boxes,
        "thumb_size": thumbnail_size(request),
        "thumb_sizes": THUMBNAIL_SIZES,
        "grid_query": "&".join(q for q in (sample_filter.to_querystring(), display) if q),
    }
    context["modal_html"] = sample_modal_html(request, dataset, context["grid_query"])
    if request.htmx and request.htmx.target == "modal-root":  # open, step or close the modal
        return HttpResponse(context["modal_html"])
    if not error:
        try:
            size = getattr(settings, "CURATION_BROWSE_PAGE_SIZE", PAGE_SIZE)
            context["page"] = result_page(dataset, sample_filter, after=after, size=size)
            overlays = page_overlays(context["page"].samples, tasks, boxes)
            for sample in context["page"].samples:
                sample.overlay = overlays.get(sample.pk)
            ranked = bool(sample_filter.text or sample_filter.similar_to)
            context["strips"], context["images"] = page_filmstrips(
                context["page"].samples, ranked=ranked
            )
            if not (request.htmx and request.htmx.target == "more"):
                first = context["page"] if after == 0 else None
                context["count"] = result_count(dataset, sample_filter, first)
        except FilterError as exc:  # e.g. an unknown tag or a map that is not computed
            context["error"] = str(exc)
    target = request.htmx.target if request.htmx else None
    partial = {"more": "grid-page", "results": "results"}.get(target or "")
    if page_partial(request, partial) is None:
        context.update(_sidebar(dataset, sample_filter, request, tasks))
        context["legend"] = legend(tasks, boxes)
    # A filter that cannot be used, found at parse time or when applied (an unknown tag or
    # video, a map not computed), is a 400 page with its sentence and the actions disabled.
    status = 400 if context["error"] and not request.htmx else 200
    response = render_page(request, TEMPLATE, context, partial=partial, status=status)
    if partial == "results" and not context["error"]:
        response["HX-Push-Url"] = browser_url(dataset, sample_filter, display=display)
    if page_partial(request, partial) == "results":  # the sidebar follows, out of band
        response.write(_legend_oob(request, tasks, boxes))
        if not context["error"] and filter_changed(request, dataset, sample_filter):
            response["HX-Trigger"] = REFRESH_EVENT  # the facet panels count again
    return response


def _legend_oob(request: HtmxRequest, tasks: list[AnnotationTask], boxes: list[str]) -> str:
    """The class colours of the drawn tasks, swapped into the sidebar (``hx-swap-oob``)."""
    context = {"legend": legend(tasks, boxes), "legend_oob": True}
    return render_to_string(f"{TEMPLATE}#overlay-legend", context, request=request)


def _display_query(tasks: list[AnnotationTask], boxes: list[str]) -> str:
    """``boxes=…`` when the drawn tasks differ from the default (ground truth)."""
    if boxes == overlay_tasks([], tasks):
        return ""
    return urlencode({"boxes": ",".join(boxes) or NO_BOXES}, safe=",")


def _sidebar(
    dataset: Dataset,
    sample_filter: SampleFilter,
    request: HtmxRequest,
    tasks: list[AnnotationTask],
) -> dict[str, Any]:
    ranges = {key: (low, high) for key, low, high in sample_filter.ranges}
    chosen_values = dict(sample_filter.values)
    fields = metadata_fields(dataset)
    for meta in fields:
        meta.chosen_low, meta.chosen_high = ranges.get(meta.key, (None, None))  # type: ignore[attr-defined]
        meta.chosen_values = chosen_values.get(meta.key, ())  # type: ignore[attr-defined]
    labels = sorted({c for t in tasks for c in t.categories}, key=_natural)
    return {
        "tags": tags_with_counts(dataset),
        "tasks": tasks,
        "labels": labels,
        "metadata_fields": fields,
        "sizes": dict(sample_filter.sizes),
        "size_bounds": size_bounds(dataset),
        "can_delete": can_delete_dataset(request.user, dataset),
        "text_spaces": text_space_names(dataset),
        "saved_views": list(saved_views_visible(dataset=dataset, user=request.user)),
        **sidebar_videos(dataset, sample_filter),
    }


def _natural(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)
