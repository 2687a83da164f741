"""Selection run pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from curation.access import get_run_for_user
from curation.views.common import HtmxRequest


@login_required
def run_detail(request: HtmxRequest, run_id: int) -> HttpResponse:
    run = get_run_for_user(request.user, run_id)
    template = "curation/run_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"run": run, "dataset": run.dataset})
