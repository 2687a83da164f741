"""Dataset pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from curation.access import datasets_visible_to


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = (
        datasets_visible_to(request.user)
        .select_related("owner", "team")
        .annotate(
            sample_count=Count("samples", distinct=True), tag_count=Count("tags", distinct=True)
        )
        .order_by("name")
    )
    return render(request, "curation/dataset_list.html", {"datasets": datasets})
