"""The browser sidebar's facet panels: one URL per panel, each an HTML fragment.

A panel's query string is the filter (the sidebar form's fields, sent by htmx's
``hx-include="#filter-form"``) plus ``key=`` (the metadata key of a values or histogram
panel) and ``wait=1`` (the user asked to wait past ``FACET_BUDGET_MS``). The counts are
``curation.browse.facets``'s exact aggregates; a panel whose aggregate runs out of time says so
and offers to count anyway. Panels load lazily (``hx-trigger="revealed"``) and again on the
``facets-refresh`` event, which the browser view sends (``HX-Trigger``) when a results swap
changed the filter (:func:`filter_changed`). Reads only; any user who may see the dataset.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from curation.access import get_dataset_for_user
from curation.browse.facet_bars import histogram_bars
from curation.browse.facets import (
    FACET_BUDGET_MS,
    TARGET_MS,
    WAIT_BUDGET_MS,
    FacetTimeout,
    HistogramFacet,
    histogram_facet,
    label_facet,
    tag_facet,
    value_facet,
)
from curation.browse.filter_cache import cached_result, depends_on_rows_only
from curation.browse.saved_views import saved_view_expand
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import AnnotationTask, Dataset, Tag
from curation.web.errors import BadInput
from curation.web.pages import HtmxRequest

TEMPLATE = "curation/browser_facets.html"
PANEL_PARAMS = ("key", "wait")  # the panel's own parameters, not part of the filter
MAX_KEY = 200
REFRESH_EVENT = "facets-refresh"


def _filter(request: HtmxRequest, dataset: Dataset, pairs: list[tuple[str, str]]) -> SampleFilter:
    expanded = saved_view_expand(dataset=dataset, user=request.user, pairs=pairs)
    return SampleFilter.parse(expanded)


def _panel_filter(request: HtmxRequest, dataset: Dataset) -> SampleFilter:
    pairs = [(k, v) for k, vs in request.GET.lists() if k not in PANEL_PARAMS for v in vs]
    try:
        return _filter(request, dataset, pairs)
    except FilterError as exc:
        raise BadInput(str(exc)) from None


def _key(request: HtmxRequest) -> str:
    key = request.GET.get("key", "").strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise BadInput(
            f"This panel needs key=, a metadata key of 1 to {MAX_KEY} printable characters."
        )
    return key


def _panel(
    request: HtmxRequest,
    dataset_id: int,
    partial: str,
    compute: Callable[[Dataset, SampleFilter, int], Any],
    key: str = "",
) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    sample_filter = _panel_filter(request, dataset)
    budget = WAIT_BUDGET_MS if request.GET.get("wait") == "1" else FACET_BUDGET_MS
    context: dict[str, Any] = {
        "dataset": dataset,
        "filter": sample_filter,
        "loaded": True,
        "target_ms": TARGET_MS,
        "key": key,
        "chosen": dict(sample_filter.values).get(key, ()),
        "chosen_range": next(((lo, hi) for k, lo, hi in sample_filter.ranges if k == key), None),
    }
    try:
        context["facet"] = facet = _cached(dataset, sample_filter, partial, key, budget, compute)
        if isinstance(facet, HistogramFacet):
            context["bars"] = histogram_bars(facet, context["chosen_range"])
    except FacetTimeout as exc:
        context["timeout"] = exc
    except FilterError as exc:  # e.g. a tag that no longer exists
        raise BadInput(str(exc)) from None
    return render(request, f"{TEMPLATE}#{partial}", context)


def _cached(
    dataset: Dataset,
    sample_filter: SampleFilter,
    partial: str,
    key: str,
    budget: int,
    compute: Callable[[Dataset, SampleFilter, int], Any],
) -> Any:
    """The panel's aggregate, or the one stored for the same filter SQL, panel, key and data
    version (``curation.browse.filter_cache``: exact, a write changes the version). The names
    of the dataset's tags and tasks are part of the key, since renaming one writes no sample
    row. ``ms`` is this request's server time either way."""
    started = time.perf_counter()
    run = lambda: compute(dataset, sample_filter, budget)  # noqa: E731
    if not depends_on_rows_only(sample_filter):
        return run()
    names = (
        tuple(Tag.objects.filter(dataset=dataset).order_by("pk").values_list("pk", "name")),
        tuple(
            AnnotationTask.objects.filter(dataset=dataset)
            .order_by("pk")
            .values_list("pk", "name", "categories")
        ),
    )
    qs = filter_samples(dataset, sample_filter)
    facet = cached_result(
        dataset, f"facet:{partial}", qs, run, key, repr(names), tags=partial == "tags-panel"
    )
    return replace(facet, ms=(time.perf_counter() - started) * 1000)


@login_required
@require_GET
def facet_tags(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    return _panel(request, dataset_id, "tags-panel", lambda d, f, ms: tag_facet(d, f, budget_ms=ms))


@login_required
@require_GET
def facet_labels(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    return _panel(
        request, dataset_id, "labels-panel", lambda d, f, ms: label_facet(d, f, budget_ms=ms)
    )


@login_required
@require_GET
def facet_values(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    key = _key(request)
    return _panel(
        request,
        dataset_id,
        "values-panel",
        lambda d, f, ms: value_facet(d, f, key, budget_ms=ms),
        key,
    )


@login_required
@require_GET
def facet_histogram(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    key = _key(request)
    return _panel(
        request,
        dataset_id,
        "histogram-panel",
        lambda d, f, ms: histogram_facet(d, f, key, budget_ms=ms),
        key,
    )


def filter_changed(request: HtmxRequest, dataset: Dataset, sample_filter: SampleFilter) -> bool:
    """Whether an htmx request of the browser changes the filter of the page it came from
    (``HX-Current-URL``); display state (``boxes=``, ``sample=``) does not count."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.path != request.path:
        return True
    try:
        before = _filter(request, dataset, parse_qsl(current.query, keep_blank_values=True))
    except FilterError:
        return True
    return before != sample_filter
