"""The selection dialog: the browser's current filter as candidates, mask and pre-selected tags,
a preset or the builder, the result tag name (checked live), and Start.

The mask and pre-selected tags are pre-filled with the dataset's defaults (and say so); the
candidate count is ``selection_defaults.candidate_counts``, as on the run page, in the API and
the CLI. The dialog takes the browser's query string, so ``/datasets/1/select/?tag=train&label=cat``
selects among exactly the samples the browser showed at ``/datasets/1/?tag=train&label=cat``.

When the strategies set ``selected_sequence_length`` L > 1, the candidates are also counted in
sequences (``runs.sequences.SequenceCounts``: "120 frames in 3 videos: at most 15 whole
sequences of 8 frames …"), so that n_samples is chosen as a number of whole sequences.
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
from curation.browse.filter_cache import cached_result, data_state, depends_on_rows_only
from curation.browse.saved_views import sample_filter_for_user
from curation.builder.choices import BuilderChoices, builder_choices
from curation.builder.editor import (
    BuilderForm,
    builder_context,
    builder_form,
    builder_form_for_config,
)
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import Dataset, SelectionRun, Tag
from curation.runs.defaults import (
    DATASET_DEFAULT,
    CandidateCounts,
    candidate_counts,
    run_option_tags,
)
from curation.runs.forms import SelectionDialogForm, preset_from
from curation.runs.inputs import candidate_queryset
from curation.runs.sequences import SequenceCounts, video_frame_counts
from curation.runs.services import SelectionRunError, selection_run_start
from curation.web.pages import HtmxRequest, render_page

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
    state = data_state(dataset)
    if sample_filter.is_empty and mask is None and pre is None and state is not None:
        return CandidateCounts(candidates=state.samples, masked=0, preselected=0)
    if not depends_on_rows_only(sample_filter):
        return candidate_counts(pool=pool, mask=mask, preselected=pre)
    return cached_result(  # exact: stored under the dataset's data version
        dataset,
        "candidates",
        pool,
        lambda: candidate_counts(pool=pool, mask=mask, preselected=pre),
        mask.pk if mask else None,
        pre.pk if pre else None,
        state=state,
        tags=mask is not None or pre is not None,
    )


def _int_at(config: dict[str, Any], key: str) -> int | None:
    value = config.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sequences(
    dataset: Dataset, sample_filter: SampleFilter, values: dict[str, str], builder: BuilderForm
) -> str:
    """The candidates in whole sequences when the config sets ``selected_sequence_length`` > 1
    (else "")."""
    length = _int_at(builder.config, "selected_sequence_length")
    if length is None or length < 2:
        return ""
    pre = Tag.objects.filter(dataset=dataset, name=values.get("preselected_tag", "")).first()
    try:
        pool = candidate_queryset(dataset, sample_filter, pre)
    except SelectionRunError:
        return ""
    if depends_on_rows_only(sample_filter):  # exact: stored under the dataset's data version
        per_video, not_frames = cached_result(
            dataset, "video-frames", pool, lambda: video_frame_counts(pool)
        )
    else:
        per_video, not_frames = video_frame_counts(pool)
    counts = SequenceCounts.of(per_video, not_frames, length)
    return counts.describe(_int_at(builder.config, "n_samples"))


def _defaults(dataset: Dataset) -> dict[str, str]:
    mask, pre = run_option_tags(
        dataset=dataset, mask_tag=DATASET_DEFAULT, preselected_tag=DATASET_DEFAULT
    )
    return {"mask_tag": mask or "", "preselected_tag": pre or ""}


def _forms(
    request: HtmxRequest, dataset: Dataset, choices: BuilderChoices
) -> tuple[BuilderForm, SelectionDialogForm]:
    """The builder and the dialog's own form: bound to the post, or pre-filled on a GET (the
    dataset's default tags, ``?preset=``, a free tag name)."""
    presets = presets_visible_to(request.user)
    if request.method != "POST":
        preset = preset_from(presets, request.GET.get("preset"))
        initial = {
            **_defaults(dataset),  # the mask and pre-selection are pre-filled with the defaults
            "preset": str(preset.pk) if preset else "",
            "result_tag_name": _suggested_tag_name(dataset),
        }
        builder = builder_form(None, choices, initial=preset.config if preset else None)
        return builder, SelectionDialogForm(initial=initial, presets=presets)
    dialog = SelectionDialogForm(request.POST, presets=presets)
    builder = builder_form(request.POST, choices)
    preset = dialog.chosen_preset()
    if preset is not None and (dialog.preset_changed() or builder.action == "load_preset"):
        builder = builder_form_for_config(preset.config, action="load")
    return builder, dialog


def _start(
    request: HtmxRequest,
    dataset: Dataset,
    sample_filter: SampleFilter,
    builder: BuilderForm,
    dialog: SelectionDialogForm,
) -> SelectionRun | None:
    """Start the run, or add the reason it cannot start to the forms."""
    if not builder.valid:
        dialog.add_error(None, "Fix the errors in the strategies first.")
        return None
    linked = dialog.chosen_preset()
    if linked is not None and linked.config.get("strategies") != builder.config.get("strategies"):
        linked = None  # changed after loading: a custom config
    try:
        return selection_run_start(
            dataset=dataset,
            config=builder.config,
            result_tag_name=dialog.value("result_tag_name"),
            user=request.user,
            candidate_filter=sample_filter,
            mask_tag=dialog.value("mask_tag") or None,  # the dialog is explicit: "" = none
            preselected_tag=dialog.value("preselected_tag") or None,
            preset=linked,
        )
    except SelectionRunError as exc:
        dialog.add_start_error(exc, builder)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def selection_dialog(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    if "check_tag" in request.GET:
        status = tag_name_status(dataset, request.GET.get("result_tag_name", ""))
        return render(request, TEMPLATE + "#tag_status", {"tag_status": status})

    filter_error = ""
    try:
        source = [(k, v) for k, vs in request.GET.lists() if k != "preset" for v in vs]
        sample_filter = sample_filter_for_user(dataset=dataset, user=request.user, source=source)
        filter_samples(dataset, sample_filter)
    except FilterError as exc:
        sample_filter, filter_error = SampleFilter(), str(exc)
    query = sample_filter.to_querystring()
    action_url = reverse("selection-dialog", args=[dataset.pk]) + (f"?{query}" if query else "")

    choices = builder_choices(dataset)
    builder, dialog = _forms(request, dataset, choices)
    if request.method == "POST" and builder.action == "start":
        if filter_error:
            dialog.add_error(None, filter_error)
        elif (run := _start(request, dataset, sample_filter, builder, dialog)) is not None:
            url = reverse("run-detail", args=[run.pk])
            if request.htmx:
                return HttpResponseClientRedirect(url)
            return HttpResponseRedirect(url)

    values = {name: dialog.value(name) for name in dialog.fields}
    context: dict[str, Any] = builder_context(builder, choices)
    context.update(
        dataset=dataset,
        sample_filter=sample_filter,
        filter_query=query,
        filter_error=filter_error,
        counts=None if filter_error else _counts(dataset, sample_filter, values),
        sequences="" if filter_error else _sequences(dataset, sample_filter, values, builder),
        defaults=_defaults(dataset),
        browser_url=_browser_url(dataset, query),
        action_url=action_url,
        check_url=reverse("selection-dialog", args=[dataset.pk]) + "?check_tag=1",
        presets=list(presets_visible_to(request.user).select_related("owner").order_by("name")),
        tags=list(Tag.objects.filter(dataset=dataset).order_by("name")),
        dialog=dialog,
        values=values,
        loaded_preset=values["preset"] if dialog.chosen_preset() is not None else "",
        tag_status=tag_name_status(dataset, values["result_tag_name"]),
    )
    return render_page(request, TEMPLATE, context, partial="form")
