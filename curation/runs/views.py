"""Selection run pages: progress (live over the websocket), cancel and re-run."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from curation.access import get_run_for_user
from curation.runs.services import (
    SelectionRunError,
    selection_run_cancel,
    selection_run_rerun,
)
from curation.web.pages import HtmxRequest, render_page


@login_required
def run_detail(request: HtmxRequest, run_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    context = {"run": run, "dataset": run.dataset}
    return render_page(request, "curation/run_detail.html", context, partial="progress")


@login_required
@require_POST
def run_cancel(request: HtmxRequest, run_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    notice = ""
    try:
        selection_run_cancel(run=run, user=request.user)
    except SelectionRunError as exc:
        notice = str(exc)
    if request.htmx:
        context = {"run": run, "dataset": run.dataset, "notice": notice}
        return render(request, "curation/run_detail.html#progress", context)
    if notice:
        messages.error(request, notice)
    return redirect("run-detail", run_id=run.pk)


@login_required
@require_POST
def run_rerun(request: HtmxRequest, run_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    target = run
    try:
        target = selection_run_rerun(
            run=run, user=request.user, result_tag_name=request.POST.get("tag", "").strip() or None
        )
    except SelectionRunError as exc:
        messages.error(request, str(exc))
    url = reverse("run-detail", kwargs={"run_id": target.pk})
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
