"""The sample browser (the dataset's main page) and the sample detail page.

The URL query string is the filter (``curation.filters``): the sidebar form GETs the same URL,
htmx swaps ``#results`` and pushes the canonical URL, infinite scroll appends ``#grid-page``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from curation.access import can_delete_dataset, get_dataset_for_user
from curation.browse.forms import SampleTagForm
from curation.browse.selectors import (
    PAGE_SIZE,
    adjacent_ids,
    annotation_tasks,
    metadata_fields,
    nearest_neighbours,
    result_count,
    result_page,
    size_bounds,
    tags_with_counts,
)
from curation.embeddings.text_search import text_space_names
from curation.filters import FilterError, SampleFilter
from curation.models import Annotation, Dataset, Sample, Score, Tag
from curation.tags.services import TagError, tag_add_samples, tag_create, tag_remove_samples
from curation.web.pages import HtmxRequest, page_partial, render_page

TEMPLATE = "curation/browser.html"


def browser_url(dataset: Dataset, sample_filter: SampleFilter | None = None, **extra: Any) -> str:
    url = reverse("dataset-browser", args=[dataset.pk])
    query = sample_filter.to_querystring() if sample_filter else ""
    extras = "&".join(f"{k}={v}" for k, v in extra.items() if v not in (None, ""))
    query = "&".join(part for part in (query, extras) if part)
    return f"{url}?{query}" if query else url


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
        sample_filter = SampleFilter.parse(request.GET)
    except FilterError as exc:
        error, sample_filter = str(exc), SampleFilter()
    after = _after(request)
    if not request.htmx and not error and _has_blank_values(request):
        # A form GET without JavaScript sends every empty field: show the canonical URL.
        return HttpResponseRedirect(browser_url(dataset, sample_filter, after=after or None))
    context: dict[str, Any] = {
        "dataset": dataset,
        "filter": sample_filter,
        "filter_query": sample_filter.to_querystring(),
        "error": error,
        "after": after,
        "page": None,
        "count": None,
    }
    if not error:
        try:
            size = getattr(settings, "CURATION_BROWSE_PAGE_SIZE", PAGE_SIZE)
            context["page"] = result_page(dataset, sample_filter, after=after, size=size)
            if not (request.htmx and request.htmx.target == "more"):
                first = context["page"] if after == 0 else None
                context["count"] = result_count(dataset, sample_filter, first)
        except FilterError as exc:  # e.g. an unknown tag or a map that is not computed
            context["error"] = str(exc)
    target = request.htmx.target if request.htmx else None
    partial = {"more": "grid-page", "results": "results"}.get(target or "")
    if page_partial(request, partial) is None:
        context.update(_sidebar(dataset, sample_filter, request))
    status = 400 if error and not request.htmx else 200
    response = render_page(request, TEMPLATE, context, partial=partial, status=status)
    if partial == "results" and not context["error"]:
        response["HX-Push-Url"] = browser_url(dataset, sample_filter)
    return response


def _sidebar(dataset: Dataset, sample_filter: SampleFilter, request: HtmxRequest) -> dict[str, Any]:
    ranges = {key: (low, high) for key, low, high in sample_filter.ranges}
    chosen_values = dict(sample_filter.values)
    fields = metadata_fields(dataset)
    for meta in fields:
        meta.chosen_low, meta.chosen_high = ranges.get(meta.key, (None, None))  # type: ignore[attr-defined]
        meta.chosen_values = chosen_values.get(meta.key, ())  # type: ignore[attr-defined]
    tasks = annotation_tasks(dataset)
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
    }


def _natural(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


@login_required
def sample_detail(request: HtmxRequest, dataset_id: int, sample_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    sample = get_object_or_404(Sample, pk=sample_id, dataset=dataset)
    try:
        sample_filter = SampleFilter.parse(request.GET)
        previous_id, next_id = adjacent_ids(dataset, sample_filter, sample.pk)
    except FilterError:
        sample_filter = SampleFilter()
        previous_id, next_id = adjacent_ids(dataset, sample_filter, sample.pk)
    annotations = list(
        Annotation.objects.filter(sample=sample).select_related("task").order_by("task__name", "pk")
    )
    for annotation in annotations:
        annotation.top_probabilities = _top_probabilities(annotation)  # type: ignore[attr-defined]
    context = {
        "dataset": dataset,
        "sample": sample,
        "filter": sample_filter,
        "filter_query": sample_filter.to_querystring(),
        "previous_id": previous_id,
        "next_id": next_id,
        "annotations": annotations,
        "boxes": [a for a in annotations if a.bbox is not None],
        "scores": list(Score.objects.filter(sample=sample).order_by("task", "name")),
        "metadata": sorted(sample.metadata.items()) if isinstance(sample.metadata, dict) else [],
        "neighbours": nearest_neighbours(sample),
        **_sample_tags_context(dataset, sample),
    }
    return render_page(
        request, "curation/sample_detail.html", context, partial="sample-tags", target="sample-tags"
    )


def _top_probabilities(annotation: Annotation) -> list[tuple[str, float]]:
    probabilities = annotation.probabilities
    if not isinstance(probabilities, list):
        return []
    categories = annotation.task.categories or []
    named = [
        (categories[i] if i < len(categories) else str(i), float(p))
        for i, p in enumerate(probabilities)
    ]
    return sorted(named, key=lambda item: -item[1])[:3]


def _sample_tags_context(dataset: Dataset, sample: Sample) -> dict[str, Any]:
    all_tags = list(Tag.objects.filter(dataset=dataset).order_by("name"))
    member_ids = set(sample.memberships.values_list("tag_id", flat=True))
    return {
        "sample_tags": [t for t in all_tags if t.pk in member_ids],
        "other_tags": [t for t in all_tags if t.pk not in member_ids],
    }


@login_required
@require_POST
def sample_tags(request: HtmxRequest, dataset_id: int, sample_id: int) -> HttpResponse:
    """Add the sample to a tag (an existing one, or a new one by name) or remove it."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    sample = get_object_or_404(Sample, pk=sample_id, dataset=dataset)
    form = SampleTagForm(request.POST)
    error = ""
    if not form.is_valid():
        error = form.first_error()
    else:
        data = form.cleaned_data
        try:
            if data["action"] == "remove":
                removed = get_object_or_404(Tag, pk=data["tag"], dataset=dataset)
                tag_remove_samples(tag=removed, sample_ids=[sample.pk])
            else:
                name = data["name"]
                tag = Tag.objects.filter(dataset=dataset, name=name).first() if name else None
                if tag is None and data["tag"] is not None:
                    tag = get_object_or_404(Tag, pk=data["tag"], dataset=dataset)
                if tag is None:
                    tag_create(
                        dataset=dataset, name=name, sample_ids=[sample.pk], created_by=request.user
                    )
                else:
                    tag_add_samples(tag=tag, sample_ids=[sample.pk])
        except TagError as exc:
            error = str(exc)
    if request.htmx:
        context = {"dataset": dataset, "sample": sample, "tag_error": error}
        context.update(_sample_tags_context(dataset, sample))
        return render(request, "curation/sample_detail.html#sample-tags", context)
    if error:
        messages.error(request, error)
    url = reverse("sample-detail", args=[dataset.pk, sample.pk])
    query = form.cleaned_data.get("filter", "") if form.is_valid() else ""
    return redirect(f"{url}?{query}" if query else url)
