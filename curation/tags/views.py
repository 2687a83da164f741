"""Tag pages: the tag list (create from checked samples or a filter, combine), rename, delete,
and export as a download. Every write goes through ``curation.tags.services``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from curation.access import get_dataset_for_user
from curation.filters import FilterError, SampleFilter
from curation.formats.export import FORMATS, unknown_format_message
from curation.models import Dataset, Tag
from curation.tags.export import tag_export_download
from curation.tags.forms import TagActionForm, TagRenameForm
from curation.tags.services import (
    TAG_OPERATIONS,
    TagError,
    tag_add_filter,
    tag_add_samples,
    tag_combine,
    tag_create,
    tag_create_from_filter,
    tag_delete,
    tag_remove_samples,
    tag_rename,
)
from curation.web.pages import HtmxRequest, render_page


def _dataset_tag(request: HtmxRequest, dataset_id: int, tag_id: int) -> tuple[Dataset, Tag]:
    dataset = get_dataset_for_user(request.user, dataset_id)
    return dataset, get_object_or_404(Tag, pk=tag_id, dataset=dataset)


def _next_url(request: HtmxRequest, default: str) -> str:
    candidate = str(request.POST.get("next", ""))
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}):
        return candidate
    return default


@login_required
def tag_list(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    if request.method == "POST":
        return _tag_list_post(request, dataset)
    tags = (
        Tag.objects.filter(dataset=dataset)
        .select_related("created_by")
        .annotate(size=Count("memberships"))
        .order_by("name")
    )
    context = {"dataset": dataset, "tags": tags, "operations": TAG_OPERATIONS}
    return render_page(
        request, "curation/tags.html", context, partial="tag-table", target="tag-table"
    )


def _tag_list_post(request: HtmxRequest, dataset: Dataset) -> HttpResponse:
    form = TagActionForm(request.POST)
    form.tag_ids()  # a tag id none of our pages would send is a 400
    back = _next_url(request, reverse("dataset-browser", args=[dataset.pk]))
    if not form.is_valid():
        messages.error(request, form.first_error())
        return redirect(back)
    data = form.cleaned_data
    action, name, sample_filter = data["action"], data["name"], data["filter"]
    try:
        if action == "create_checked":
            ids = data["sample_ids"]
            tag = tag_create(dataset=dataset, name=name, sample_ids=ids, created_by=request.user)
            messages.success(request, f"Tag {tag.name!r} created with {len(ids)} samples.")
        elif action == "create_filter":
            tag = tag_create_from_filter(
                dataset=dataset, name=name, sample_filter=sample_filter, created_by=request.user
            )
            size = tag.memberships.count()
            messages.success(request, f"Tag {tag.name!r} created with {size:,} samples.")
        elif action == "combine":
            by_pk = Tag.objects.filter(dataset=dataset).in_bulk(data["tag_ids"])
            tag = tag_combine(
                dataset=dataset,
                name=name,
                operation=data["operation"],
                tags=[by_pk[pk] for pk in data["tag_ids"] if pk in by_pk],
                created_by=request.user,
            )
            messages.success(
                request, f"Tag {tag.name!r} created with {tag.memberships.count():,} samples."
            )
            back = _next_url(request, reverse("tag-list", args=[dataset.pk]))
        else:
            tag = get_object_or_404(Tag, pk=data["tag_id"], dataset=dataset)
            if action == "remove_checked":
                removed = tag_remove_samples(tag=tag, sample_ids=data["sample_ids"])
                messages.success(request, f"{removed} samples removed from {tag.name!r}.")
                return redirect(back)
            if action == "add_checked":
                added = tag_add_samples(tag=tag, sample_ids=data["sample_ids"])
            else:
                added = tag_add_filter(tag=tag, sample_filter=sample_filter)
            messages.success(request, f"{added} samples added to {tag.name!r}.")
    except (TagError, FilterError) as exc:
        messages.error(request, str(exc))
    return redirect(back)


@login_required
def tag_detail(request: HtmxRequest, dataset_id: int, tag_id: int) -> HttpResponse:
    dataset, tag = _dataset_tag(request, dataset_id, tag_id)
    form = TagRenameForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            tag_rename(tag=tag, name=form.cleaned_data["name"])
        except TagError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Tag renamed to {tag.name!r}.")
            return redirect("tag-detail", dataset.pk, tag.pk)
    context: dict[str, Any] = {
        "dataset": dataset,
        "tag": tag,
        "size": tag.memberships.count(),
        "form": form,
        "formats": FORMATS,
        "browse_query": SampleFilter(tags=(tag.name,)).to_querystring(),
        "objects_count": (tag.object_memberships.count() if tag.kind == Tag.Kind.OBJECTS else None),
        "objects_query": urlencode({"tag": tag.name}),
    }
    return render(request, "curation/tag_detail.html", context, status=400 if form.errors else 200)


@login_required
def tag_delete_view(request: HtmxRequest, dataset_id: int, tag_id: int) -> HttpResponse:
    dataset, tag = _dataset_tag(request, dataset_id, tag_id)
    if request.method == "POST":
        name = tag.name
        tag_delete(tag=tag)
        messages.success(request, f"Tag {name!r} deleted.")
        return redirect("tag-list", dataset.pk)
    context = {"dataset": dataset, "tag": tag, "size": tag.memberships.count()}
    return render(request, "curation/tag_delete.html", context)


@login_required
def tag_export_view(request: HtmxRequest, dataset_id: int, tag_id: int) -> HttpResponseBase:
    """Download the tag in one of the export formats (the one export helper writes it)."""
    dataset, tag = _dataset_tag(request, dataset_id, tag_id)
    chosen = request.GET.get("format", "filenames")
    if chosen not in FORMATS:
        messages.error(request, unknown_format_message(chosen))
        return redirect("tag-detail", dataset.pk, tag.pk)
    try:
        stem = f"{dataset.name}-{tag.name}"
        download = tag_export_download(dataset=dataset, tag=tag, format=chosen, filename_stem=stem)
    except ValueError as exc:  # ExportError and storage errors: one sentence on the page
        messages.error(request, f"The export failed: {exc}")
        return redirect("tag-detail", dataset.pk, tag.pk)
    return FileResponse(
        download.handle,
        as_attachment=True,
        filename=download.filename,
        content_type=download.content_type,
    )
