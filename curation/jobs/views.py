"""Job pages (imports): progress (live over the websocket; a reload works without JS) and
cancel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from curation.jobs.services import JobError, job_cancel, job_get_for_user
from curation.web.pages import HtmxRequest


@login_required
def job_detail(request: HtmxRequest, job_id: int) -> HttpResponse:
    job = job_get_for_user(request.user, job_id)
    template = "curation/job_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"job": job})


@login_required
@require_POST
def job_cancel_view(request: HtmxRequest, job_id: int) -> HttpResponse:
    job = job_get_for_user(request.user, job_id)
    notice = ""
    try:
        job_cancel(job=job, user=request.user)
    except JobError as exc:
        notice = str(exc)
    if request.htmx:
        job = job_get_for_user(request.user, job_id)
        return render(request, "curation/job_detail.html#progress", {"job": job, "notice": notice})
    if notice:
        messages.error(request, notice)
    return redirect("job-detail", job_id=job.pk)
