"""A dataset's selection defaults: the mask and pre-selection tags every new selection uses.

A Lightly CSV's ``masked`` / ``selected`` columns set them on import; this small form shows and
changes them. Team members may change them (like tags and runs); outsiders get 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from curation.access import get_dataset_for_user
from curation.models import Dataset
from curation.runs.defaults import DefaultsError, dataset_defaults_update
from curation.runs.forms import SelectionDefaultsForm
from curation.web.pages import HtmxRequest


def _initial(dataset: Dataset) -> dict[str, str]:
    mask, pre = dataset.default_mask_tag, dataset.default_preselected_tag
    return {
        "default_mask_tag": mask.name if mask else "",
        "default_preselected_tag": pre.name if pre else "",
    }


@login_required
@require_http_methods(["GET", "POST"])
def dataset_selection_defaults(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    status = 200
    if request.method == "POST":
        form = SelectionDefaultsForm(request.POST, dataset=dataset)
        if form.is_valid():
            try:
                dataset_defaults_update(
                    dataset=dataset,
                    mask_tag=form.cleaned_data["default_mask_tag"],
                    preselected_tag=form.cleaned_data["default_preselected_tag"],
                )
            except DefaultsError as exc:
                form.add_error(exc.field or None, str(exc))
            else:
                messages.success(request, "Saved the selection defaults.")
                return HttpResponseRedirect(reverse("dataset-browser", args=[dataset.pk]))
        status = 400
    else:
        form = SelectionDefaultsForm(initial=_initial(dataset), dataset=dataset)
    return render(
        request,
        "curation/dataset_defaults.html",
        {"dataset": dataset, "form": form},
        status=status,
    )
