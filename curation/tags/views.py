"""Tag pages: the tag list (create from checked samples or a filter, combine), rename, delete,
and export as a download. Every write goes through ``curation.tags.services``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

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
from curation.models import Dataset, Tag
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
from curation.web.errors import parse_id
from curation.web.pages import HtmxRequest

EXPORT_FORMATS = {
    "filenames": ("File names (.txt)", "txt", "text/plain"),
    "csv": ("CSV with annotations and scores", "csv", "text/csv"),
    "coco": ("COCO JSON", "json", "application/json"),
    "lightly-csv": ("Lightly embeddings CSV", "csv", "text/csv"),
}


def _dataset_tag(request: HtmxRequest, dataset_id: int, tag_id: int) -> tuple[Dataset, Tag]:
    dataset = get_dataset_for_user(request.user, dataset_id)
    return dataset, get_object_or_404(Tag, pk=tag_id, dataset=dataset)


def _next_url(request: HtmxRequest, default: str) -> str:
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}):
        return candidate
    return default


def _sample_ids(request: HtmxRequest) -> list[int]:
    values = request.POST.getlist("sample")
    if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in values):
        raise TagError("The checked samples could not be read: reload the page.")
    return [int(v) for v in values]


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
    template = "curation/tags.html"
    if request.htmx and request.htmx.target == "tag-table":
        template += "#tag-table"
    return render(request, template, context)


def _tag_list_post(request: HtmxRequest, dataset: Dataset) -> HttpResponse:
    action = request.POST.get("action", "")
    name = request.POST.get("name", "")
    browser = reverse("dataset-browser", args=[dataset.pk])
    back = _next_url(request, browser)
    try:
        sample_filter = SampleFilter.parse(request.POST.get("filter", ""))
        if action == "create_checked":
            ids = _sample_ids(request)
            if not ids:
                raise TagError("Check at least one sample first (shift-click selects a range).")
            tag = tag_create(dataset=dataset, name=name, sample_ids=ids, created_by=request.user)
            messages.success(request, f"Tag {tag.name!r} created with {len(ids)} samples.")
        elif action == "create_filter":
            tag = tag_create_from_filter(
                dataset=dataset, name=name, sample_filter=sample_filter, created_by=request.user
            )
            size = tag.memberships.count()
            messages.success(request, f"Tag {tag.name!r} created with {size:,} samples.")
        elif action in ("add_checked", "add_filter", "remove_checked"):
            tag_id = parse_id(request.POST.get("tag"), "tag")
            tag = get_object_or_404(Tag, pk=tag_id, dataset=dataset)
            if action == "add_checked":
                added = tag_add_samples(tag=tag, sample_ids=_sample_ids(request))
            elif action == "add_filter":
                added = tag_add_filter(tag=tag, sample_filter=sample_filter)
            else:
                removed = tag_remove_samples(tag=tag, sample_ids=_sample_ids(request))
                messages.success(request, f"{removed} samples removed from {tag.name!r}.")
                return redirect(back)
            messages.success(request, f"{added} samples added to {tag.name!r}.")
        elif action == "combine":
            chosen = [parse_id(v, "tag") for v in request.POST.getlist("tags")]
            by_pk = Tag.objects.filter(dataset=dataset).in_bulk(chosen)
            tag = tag_combine(
                dataset=dataset,
                name=name,
                operation=request.POST.get("operation", ""),
                tags=[by_pk[pk] for pk in chosen if pk in by_pk],
                created_by=request.user,
            )
            messages.success(
                request, f"Tag {tag.name!r} created with {tag.memberships.count():,} samples."
            )
            back = _next_url(request, reverse("tag-list", args=[dataset.pk]))
        else:
            raise TagError("Unknown tag action: reload the page and try again.")
    except (TagError, FilterError) as exc:
        messages.error(request, str(exc))
    return redirect(back)


@login_required
def tag_detail(request: HtmxRequest, dataset_id: int, tag_id: int) -> HttpResponse:
    dataset, tag = _dataset_tag(request, dataset_id, tag_id)
    error = ""
    if request.method == "POST":
        try:
            tag_rename(tag=tag, name=request.POST.get("name", ""))
            messages.success(request, f"Tag renamed to {tag.name!r}.")
            return redirect("tag-detail", dataset.pk, tag.pk)
        except TagError as exc:
            error = str(exc)
    context: dict[str, Any] = {
        "dataset": dataset,
        "tag": tag,
        "size": tag.memberships.count(),
        "error": error,
        "formats": EXPORT_FORMATS,
        "browse_query": SampleFilter(tags=(tag.name,)).to_querystring(),
    }
    return render(request, "curation/tag_detail.html", context, status=400 if error else 200)


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
    """Download the tag in one of the export formats (the export service writes the file)."""
    from curation.formats.export import ExportError
    from curation.tags.export import tag_export

    dataset, tag = _dataset_tag(request, dataset_id, tag_id)
    chosen = request.GET.get("format", "filenames")
    if chosen not in EXPORT_FORMATS:
        messages.error(request, f"Unknown export format {chosen!r}.")
        return redirect("tag-detail", dataset.pk, tag.pk)
    _, extension, content_type = EXPORT_FORMATS[chosen]
    folder = Path(tempfile.mkdtemp(prefix="curation-export-"))
    output = folder / f"export.{extension}"  # names are data: never part of a server path
    try:
        tag_export(dataset=dataset, tag=tag, format=chosen, output=output)
    except (ExportError, ValueError) as exc:
        messages.error(request, f"The export failed: {exc}")
        return redirect("tag-detail", dataset.pk, tag.pk)
    handle = open(output, "rb")  # noqa: SIM115 (FileResponse closes it)
    output.unlink()  # the open handle keeps the bytes until the response is sent
    folder.rmdir()
    filename = f"{dataset.name}-{tag.name}.{extension}"
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
