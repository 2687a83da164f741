"""The selection dialog: the browser's current filter as candidates, mask and pre-selected tags,
a preset or the builder, the result tag name (checked live), and Start.

The mask and pre-selected tags are pre-filled with the dataset's defaults (and say so); the
candidate count is ``selection_defaults.candidate_counts``, as on the run page, in the API and
the CLI. The dialog takes the browser's query string, so ``/datasets/1/select/?tag=train&label=cat``
selects among exactly the samples the browser showed at ``/datasets/1/?tag=train&label=cat``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from curation.access import get_dataset_for_user, presets_visible_to
from curation.builder.choices import builder_choices
from curation.builder.rows import field_for_path, state_from_config, validate_state
from curation.builder.views import BuilderForm, builder_context, builder_form
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import Dataset, StrategyPreset, Tag
from curation.runs.defaults import (
    DATASET_DEFAULT,
    CandidateCounts,
    candidate_counts,
    run_option_tags,
)
from curation.runs.inputs import candidate_queryset
from curation.runs.services import SelectionRunError, selection_run_start
from curation.web.pages import HtmxRequest

TEMPLATE = "curation/selection_dialog.html"


def tag_name_status(dataset: Dataset, name: str) -> dict[str, str]:
    """``{"state": "empty" | "available" | "taken" | "invalid", "name": …}``."""
    name = name.strip()
    if not name:
        return {"state": "empty", "name": ""}
    if len(name) > 200:
        return {"state": "invalid", "name": name}
    taken = Tag.objects.filter(dataset=dataset, name=name).exists()
    return {"state": "taken" if taken else "available", "name": name}


def _browser_url(dataset: Dataset, query: str) -> str:
    try:
        url = reverse("dataset-browser", args=[dataset.pk])
    except NoReverseMatch:
        return reverse("dataset-list")
    return f"{url}?{query}" if query else url


def _preset(request: HtmxRequest, raw: str) -> StrategyPreset | None:
    if not raw:
        return None
    try:
        return presets_visible_to(request.user).get(pk=int(raw))
    except (StrategyPreset.DoesNotExist, ValueError):
        return None


def _suggested_tag_name(dataset: Dataset) -> str:
    existing = set(
        Tag.objects.filter(dataset=dataset, name__startswith="selection-").values_list(
            "name", flat=True
        )
    )
    number = 1
    while f"selection-{number}" in existing:
        number += 1
    return f"selection-{number}"


def _counts(
    dataset: Dataset, sample_filter: SampleFilter, values: dict[str, str]
) -> CandidateCounts | None:
    """The candidates with the chosen tags, counted as the run will count them."""
    tags = {t.name: t for t in Tag.objects.filter(dataset=dataset)}
    pre = tags.get(values.get("preselected_tag", ""))
    mask = tags.get(values.get("mask_tag", ""))
    try:
        pool = candidate_queryset(dataset, sample_filter, pre)
    except SelectionRunError:
        return None
    return candidate_counts(pool=pool, mask=mask, preselected=pre)


def _defaults(dataset: Dataset) -> dict[str, str]:
    mask, pre = run_option_tags(
        dataset=dataset, mask_tag=DATASET_DEFAULT, preselected_tag=DATASET_DEFAULT
    )
    return {"mask_tag": mask or "", "preselected_tag": pre or ""}


def _start_error(
    exc: SelectionRunError, form: BuilderForm, errors: dict[str, str]
) -> dict[str, str]:
    """Put a run error next to the field it names."""
    path = exc.path or ""
    message = str(exc)
    if path in ("result_tag_name", "mask_tag", "preselected_tag", "candidate_filter"):
        errors[path] = message.split(": ", 1)[1] if message.startswith(path + ":") else message
        return errors
    if path.startswith(("strategies", "n_samples", "proportion_samples")):
        row, name = field_for_path(path, None)
        key = name if row is None else f"{row}.{name}"
        form.errors[key] = message.split(": ", 1)[1] if ": " in message else message
    errors["form"] = message
    return errors


@login_required
@require_http_methods(["GET", "POST"])
def selection_dialog(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    if "check_tag" in request.GET:
        status = tag_name_status(dataset, request.GET.get("result_tag_name", ""))
        return render(request, TEMPLATE + "#tag_status", {"tag_status": status})

    filter_error = ""
    try:
        sample_filter = SampleFilter.parse(request.GET)
        filter_samples(dataset, sample_filter)
    except FilterError as exc:
        sample_filter, filter_error = SampleFilter(), str(exc)
    query = sample_filter.to_querystring()
    action_url = reverse("selection-dialog", args=[dataset.pk]) + (f"?{query}" if query else "")

    choices = builder_choices(dataset)
    presets = list(presets_visible_to(request.user).select_related("owner").order_by("name"))
    errors: dict[str, str] = {}
    post = request.POST if request.method == "POST" else None
    if post is None:
        preset = _preset(request, request.GET.get("preset", ""))
        form = builder_form(None, choices, initial=preset.config if preset else None)
        mask_default, pre_default = run_option_tags(
            dataset=dataset, mask_tag=DATASET_DEFAULT, preselected_tag=DATASET_DEFAULT
        )
        values = {
            "preset": str(preset.pk) if preset else "",
            "mask_tag": mask_default or "",  # pre-filled with the dataset's defaults
            "preselected_tag": pre_default or "",
            "result_tag_name": _suggested_tag_name(dataset),
        }
    else:
        preset = _preset(request, post.get("preset", ""))
        values = {k: post.get(k, "").strip() for k in ("preset", "mask_tag", "preselected_tag")}
        values["result_tag_name"] = post.get("result_tag_name", "").strip()
        form = builder_form(post, choices)
        preset_changed = values["preset"] != post.get("loaded_preset", "")
        if preset is not None and (preset_changed or form.action == "load_preset"):
            state = state_from_config(preset.config)
            config, builder_errors = validate_state(state)
            form = BuilderForm(state=state, config=config, errors=builder_errors, action="load")
        if form.action == "start":
            if filter_error:
                errors["candidate_filter"] = filter_error
            elif not form.valid:
                errors["form"] = "Fix the errors in the strategies first."
            else:
                linked = preset
                if linked is not None and linked.config.get("strategies") != form.config.get(
                    "strategies"
                ):
                    linked = None  # changed after loading: a custom config
                try:
                    run = selection_run_start(
                        dataset=dataset,
                        config=form.config,
                        result_tag_name=values["result_tag_name"],
                        user=request.user,
                        candidate_filter=sample_filter,
                        mask_tag=values["mask_tag"] or None,  # the dialog is explicit: "" = none
                        preselected_tag=values["preselected_tag"] or None,
                        preset=linked,
                    )
                except SelectionRunError as exc:
                    errors = _start_error(exc, form, errors)
                else:
                    url = reverse("run-detail", args=[run.pk])
                    if request.htmx:
                        return HttpResponseClientRedirect(url)
                    return HttpResponseRedirect(url)

    context: dict[str, Any] = builder_context(form, choices)
    context.update(
        dataset=dataset,
        sample_filter=sample_filter,
        filter_query=query,
        filter_error=filter_error,
        counts=None if filter_error else _counts(dataset, sample_filter, values),
        defaults=_defaults(dataset),
        browser_url=_browser_url(dataset, query),
        action_url=action_url,
        check_url=reverse("selection-dialog", args=[dataset.pk]) + "?check_tag=1",
        presets=presets,
        tags=list(Tag.objects.filter(dataset=dataset).order_by("name")),
        values=values,
        loaded_preset=values["preset"] if preset is not None else "",
        errors=errors,
        tag_status=tag_name_status(dataset, values["result_tag_name"]),
    )
    template = TEMPLATE
    if request.htmx and not request.htmx.boosted:
        template += "#form"
    return render(request, template, context)
