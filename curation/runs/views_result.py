"""The result sections of a succeeded run (included in the run page, loaded with htmx), "keep
only the first k" (whole sequences for a run with ``selected_sequence_length``,
``runs.keep_first``) and downloads of the result tag.

An object-level run's result also shows its picked objects (the crops of its objects tag) in
pick order, a page at a time (``run_result_objects``, ``?start=`` the first rank), each linking
to its parent image."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from curation.access import get_run_for_user
from curation.formats.export import FORMATS, unknown_format_message
from curation.models import SelectionRun
from curation.objects.forms import PickOrderForm
from curation.objects.selectors import (
    RESULT_PAGE_SIZE,
    run_objects_tag,
    tag_objects_count,
    tag_objects_page,
)
from curation.runs import keep_first
from curation.runs.forms import ExportFormatForm, KeepFirstForm
from curation.runs.keep_first import KeepFirstError, keep_first_describe, run_sequence_length
from curation.runs.stats import run_results
from curation.tags.export import ExportError, tag_export_download
from curation.tags.services import TagError
from curation.web.pages import HtmxRequest, render_page


def _succeeded(request: HtmxRequest, run_id: int) -> SelectionRun:
    run = get_run_for_user(request.user, run_id)
    if run.status != SelectionRun.Status.SUCCEEDED:
        raise Http404("This run has no result (it has not succeeded).")
    return run


@login_required
def run_results_view(request: HtmxRequest, run_id: int) -> HttpResponse:
    run = _succeeded(request, run_id)
    length = run_sequence_length(run)
    picks = len(run.pick_order or [])
    context = {
        "run": run,
        "dataset": run.dataset,
        "results": run_results(run),
        "export_formats": FORMATS.values(),
        "keep_default": max(length, min(picks // 2, 1000) // length * length),
        "keep_step": length,
        **_objects_context(run, start=0),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "curation/run_results.html", context)
    return render(request, "curation/run_results_page.html", context)


def _objects_context(run: SelectionRun, *, start: int) -> dict[str, Any]:
    tag = run_objects_tag(run)
    if tag is None:
        return {"objects_tag": None}
    size = getattr(settings, "CURATION_RESULT_OBJECTS_PAGE_SIZE", RESULT_PAGE_SIZE)
    return {
        "objects_tag": tag,
        "objects_total": tag_objects_count(tag),
        "objects_page": tag_objects_page(tag, start=start, size=size),
    }


@login_required
@require_safe
def run_result_objects(request: HtmxRequest, run_id: int) -> HttpResponse:
    """The picked objects of an object-level run in pick order, from rank ``?start=``: the
    next items for the result section's "more" link (htmx), else a page of its own."""
    run = _succeeded(request, run_id)
    start = PickOrderForm(request.GET).chosen_start()
    context = {"run": run, "dataset": run.dataset, **_objects_context(run, start=start)}
    if context["objects_tag"] is None:
        raise Http404("This run picked no objects (or its objects tag was deleted).")
    return render_page(
        request, "curation/run_objects.html", context, partial="objects-page", target="objects-more"
    )


@login_required
@require_POST
def run_keep_first(request: HtmxRequest, run_id: int) -> HttpResponse:
    """A new tag with the first k picks of the stored order (no re-run); whole sequences for a
    sequence run."""
    run = _succeeded(request, run_id)
    length = run_sequence_length(run)
    url = reverse("run-detail", args=[run.pk]) + "#keep-first"
    form = KeepFirstForm(request.POST, picks=len(run.pick_order or []), sequence_length=length)
    if not form.is_valid():
        messages.error(request, form.range_message)
        return HttpResponseRedirect(url)
    k = form.cleaned_data["k"]
    try:
        tag = keep_first.run_keep_first(
            run=run, k=k, name=form.cleaned_data["name"], user=request.user
        )
    except KeepFirstError as exc:
        messages.error(request, f"Choose how many to keep: {exc.clause}.")
        return HttpResponseRedirect(url)
    except TagError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(url)
    kept = keep_first_describe(k=k, length=length)
    messages.success(request, f"Created the tag {tag.name!r} with {kept}.")
    return HttpResponseRedirect(url)


@login_required
def run_export(request: HtmxRequest, run_id: int) -> HttpResponseBase:
    """Download the result tag in one of the export formats (the one export helper)."""
    run = _succeeded(request, run_id)
    fmt = ExportFormatForm(request.GET).chosen()
    if fmt not in FORMATS:
        raise Http404(unknown_format_message(fmt))
    if run.result_tag is None:
        raise Http404("The result tag of this run was deleted.")
    try:
        download = tag_export_download(
            dataset=run.dataset,
            tag=run.result_tag,
            format=fmt,
            filename_stem=slugify(run.result_tag.name) or "selection",
        )
    except ExportError as exc:
        messages.error(request, f"Could not export: {exc}")
        return HttpResponseRedirect(reverse("run-detail", args=[run.pk]))
    return FileResponse(
        download.handle,
        as_attachment=True,
        filename=download.filename,
        content_type=download.content_type,
    )
