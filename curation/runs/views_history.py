"""A dataset's selection runs: status, duration, who, config and links."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from curation.access import get_dataset_for_user
from curation.builder.rows import config_json
from curation.models import SelectionRun
from curation.web.pages import HtmxRequest, render_page


@login_required
def run_history(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    runs = (
        SelectionRun.objects.filter(dataset=dataset)
        .select_related("created_by", "preset", "result_tag")
        .order_by("-created", "-pk")
    )
    status = request.GET.get("status", "")
    if status in SelectionRun.Status.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    try:
        browser = reverse("dataset-browser", args=[dataset.pk])
    except NoReverseMatch:
        browser = ""
    items = [
        {
            "run": run,
            "json": config_json(run.config),
            "tag_url": f"{browser}?tag={run.result_tag.name}" if browser and run.result_tag else "",
            "strategies": [
                (entry.get("strategy") or {}).get("type", "?")
                for entry in (run.config or {}).get("strategies", [])
                if isinstance(entry, dict)
            ],
        }
        for run in page.object_list
    ]
    active = any(not run.is_final for run in page.object_list)
    return render_page(
        request,
        "curation/run_history.html",
        {
            "dataset": dataset,
            "items": items,
            "page": page,
            "active": active,
            "status": status,
            "statuses": SelectionRun.Status.choices,
            "browser_url": browser,
        },
        partial="runs",
    )
