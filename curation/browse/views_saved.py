"""Saved views from the browser's sidebar: save the current filter under a name (private or
shared with the dataset's team) and delete one of your own. Both are POSTs that redirect back
(303); the sidebar lists the views and links them as ``?view=NAME``
(``curation.browse.saved_views``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from curation.access import get_dataset_for_user
from curation.browse.forms import SavedViewForm
from curation.browse.saved_views import (
    SavedViewError,
    saved_view_create,
    saved_view_delete,
    saved_view_for_user,
)
from curation.filters import FilterError, SampleFilter


@login_required
@require_POST
def saved_view_save(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    browser = reverse("dataset-browser", args=[dataset.pk])
    form = SavedViewForm(request.POST)
    query = request.POST.get("filter", "")
    back = f"{browser}?{query}" if query else browser
    if not form.is_valid():
        messages.error(request, form.first_error())
        return HttpResponseRedirect(back, status=303)
    data = form.cleaned_data
    try:
        view = saved_view_create(
            dataset=dataset,
            owner=request.user,
            name=data["name"],
            sample_filter=SampleFilter.parse(data.get("filter") or ""),
            visibility=data.get("visibility") or "private",
        )
    except (SavedViewError, FilterError) as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(back, status=303)
    messages.success(request, f"Saved the view {view.name!r}.")
    return HttpResponseRedirect(f"{browser}?{urlencode({'view': view.name})}", status=303)


@login_required
@require_POST
def saved_view_remove(request: HttpRequest, dataset_id: int, view_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    view = saved_view_for_user(dataset=dataset, user=request.user, pk=view_id, write=True)
    saved_view_delete(view=view)
    messages.success(request, f"Deleted the saved view {view.name!r}.")
    return HttpResponseRedirect(reverse("dataset-browser", args=[dataset.pk]), status=303)
