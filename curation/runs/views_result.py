"""The result sections of a succeeded run (included in the run page, loaded with htmx), "keep
only the first k" and downloads of the result tag."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from curation.access import get_run_for_user
from curation.models import SelectionRun, Tag
from curation.runs.stats import run_results
from curation.tags.export import ExportError, tag_export
from curation.tags.services import TagError, tag_create
from curation.web.pages import HtmxRequest

EXPORT_FORMATS = (
    ("filenames", "File names (.txt)", "txt"),
    ("csv", "CSV with metadata and labels", "csv"),
    ("coco", "COCO JSON", "json"),
    ("lightly-csv", "Lightly embeddings CSV", "csv"),
)


def _succeeded(request: HtmxRequest, run_id: int) -> SelectionRun:
    run = get_run_for_user(request.user, run_id)
    if run.status != SelectionRun.Status.SUCCEEDED:
        raise Http404("This run has no result (it has not succeeded).")
    return run


@login_required
def run_results_view(request: HtmxRequest, run_id: int) -> HttpResponse:
    run = _succeeded(request, run_id)
    context = {
        "run": run,
        "dataset": run.dataset,
        "results": run_results(run),
        "export_formats": EXPORT_FORMATS,
        "keep_default": max(1, min(len(run.pick_order or []) // 2, 1000)),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "curation/run_results.html", context)
    return render(request, "curation/run_results_page.html", context)


@login_required
@require_POST
def run_keep_first(request: HtmxRequest, run_id: int) -> HttpResponse:
    """A new tag with the first k picks of the stored order (no re-run)."""
    run = _succeeded(request, run_id)
    order = list(run.pick_order or [])
    url = reverse("run-detail", args=[run.pk]) + "#keep-first"
    try:
        k = int(request.POST.get("k", ""))
    except ValueError:
        k = 0
    if not 1 <= k <= len(order):
        messages.error(request, f"Choose how many to keep: a whole number from 1 to {len(order)}.")
        return HttpResponseRedirect(url)
    name = request.POST.get("name", "").strip() or f"{run.result_tag_name}-first-{k}"
    try:
        tag = tag_create(
            dataset=run.dataset,
            name=name,
            sample_ids=order[:k],
            kind=Tag.Kind.SELECTION,
            created_by=request.user,
            description=f"The first {k} picks of selection run {run.pk}",
        )
    except TagError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(url)
    messages.success(request, f"Created the tag {tag.name!r} with the first {k} picks.")
    return HttpResponseRedirect(url)


@login_required
def run_export(request: HtmxRequest, run_id: int) -> HttpResponseBase:
    """Download the result tag in one of ``EXPORT_FORMATS``."""
    run = _succeeded(request, run_id)
    formats = {value: ext for value, _, ext in EXPORT_FORMATS}
    fmt = request.GET.get("format", "filenames")
    if fmt not in formats:
        raise Http404("Unknown export format.")
    if run.result_tag is None:
        raise Http404("The result tag of this run was deleted.")
    folder = Path(tempfile.mkdtemp(prefix="curation-export-"))
    output = folder / f"{slugify(run.result_tag.name) or 'selection'}.{formats[fmt]}"
    try:
        tag_export(dataset=run.dataset, tag=run.result_tag, format=fmt, output=output)
    except ExportError as exc:
        messages.error(request, f"Could not export: {exc}")
        return HttpResponseRedirect(reverse("run-detail", args=[run.pk]))
    handle = open(output, "rb")  # noqa: SIM115 - FileResponse closes it
    output.unlink()  # the open handle keeps the data until the response is sent
    folder.rmdir()
    return FileResponse(handle, as_attachment=True, filename=output.name)
