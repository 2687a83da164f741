"""A sample's page (``/datasets/<id>/samples/<id>/``) and its tag form; ``sample_context`` is
also the content of the browser's sample modal (``?sample=ID``, ``curation.browse.views``).

The filter in the query string gives the previous / next sample (the grid's order, ranked for
``text=`` / ``similar_to=``). Tag membership is written only through ``curation.tags.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from curation.access import get_dataset_for_user
from curation.browse.forms import SampleTagForm
from curation.browse.links import find_similar_links, grid_link
from curation.browse.overlays import sample_boxes
from curation.browse.selectors import adjacent_ids, nearest_neighbours
from curation.browse.similarity import similarity_space_names
from curation.filters import FilterError, SampleFilter
from curation.models import Annotation, Dataset, Sample, Score, Tag
from curation.tags.services import TagError, tag_add_samples, tag_create, tag_remove_samples
from curation.web.pages import HtmxRequest, render_page


def sample_context(dataset: Dataset, sample: Sample, query: QueryDict | str) -> dict[str, Any]:
    """Everything shown about one sample (the sample page and the grid's modal): image with
    boxes, annotations with top probabilities, scores, metadata, tags, neighbours, and the
    previous / next sample within the filter ``query`` (its ranked order for ``text=`` /
    ``similar_to=``; a bad filter falls back to all samples)."""
    try:
        sample_filter = SampleFilter.parse(query)
        previous_id, next_id = adjacent_ids(dataset, sample_filter, sample.pk)
    except FilterError:
        sample_filter = SampleFilter()
        previous_id, next_id = adjacent_ids(dataset, sample_filter, sample.pk)
    annotations = list(
        Annotation.objects.filter(sample=sample).select_related("task").order_by("task__name", "pk")
    )
    for annotation in annotations:
        annotation.top_probabilities = _top_probabilities(annotation)  # type: ignore[attr-defined]
    spaces = similarity_space_names(dataset)
    return {
        "dataset": dataset,
        "sample": sample,
        "filter": sample_filter,
        "filter_query": sample_filter.to_querystring(),
        "previous_id": previous_id,
        "next_id": next_id,
        "annotations": annotations,
        "boxes": sample_boxes(annotations, sample.width, sample.height),
        "scores": list(Score.objects.filter(sample=sample).order_by("task", "name")),
        "metadata": sorted(sample.metadata.items()) if isinstance(sample.metadata, dict) else [],
        "neighbours": nearest_neighbours(sample),
        "find_similar": find_similar_links(dataset, sample_filter, sample, spaces),
        **_sample_tags_context(dataset, sample),
    }


def sample_modal_html(request: HtmxRequest, dataset: Dataset, grid_query: str) -> str:
    """The browser's sample modal for ``?sample=ID`` (empty without one, or for a sample that
    is not in the dataset): the sample's content, with previous / next / close links that keep
    the grid's URL (``grid_query``: its filter and display state)."""
    raw = request.GET.get("sample", "").strip()
    sample_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    sample = Sample.objects.filter(dataset=dataset, pk=sample_id).first() if sample_id else None
    if sample is None:
        return ""
    context = sample_context(dataset, sample, QueryDict(grid_query))
    previous_id, next_id = context["previous_id"], context["next_id"]
    context.update(
        previous_url=grid_link(dataset, grid_query, previous_id) if previous_id else "",
        next_url=grid_link(dataset, grid_query, next_id) if next_id else "",
        close_url=grid_link(dataset, grid_query),
    )
    return render_to_string("curation/sample_modal.html", context, request=request)


@login_required
def sample_detail(request: HtmxRequest, dataset_id: int, sample_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    sample = get_object_or_404(Sample, pk=sample_id, dataset=dataset)
    context = sample_context(dataset, sample, request.GET)
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
