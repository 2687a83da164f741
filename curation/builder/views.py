"""The strategy builder: rows of input + strategy + parameters + strength, as one plain form.

Every button ("add row", "remove row", "load JSON", "save as preset") posts the whole form and
the server re-renders it; htmx does the same on every change, so the rows always offer only the
valid combinations and show the errors ``parse_config`` finds next to the field they name.
Without JavaScript the same buttons work as ordinary form submits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from curation.access import datasets_visible_to, get_dataset_for_user, get_preset_for_user
from curation.builder.choices import BuilderChoices, builder_choices
from curation.builder.rows import (
    DISTRIBUTION_LABELS,
    INPUT_LABELS,
    OPERATION_LABELS,
    STRATEGIES,
    BuilderState,
    Row,
    config_json,
    errors_by_row,
    parse_pasted_json,
    state_from_config,
    state_from_form,
    validate_state,
)
from curation.models import Dataset, StrategyPreset
from curation.presets.services import PresetError, preset_create, preset_update
from curation.selection.config import PREDICTION_NAMES
from curation.web.pages import HtmxRequest

DEFAULT_CONFIG: dict[str, Any] = {
    "n_samples": 100,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


@dataclass
class BuilderForm:
    """The builder after one request: rows, the config they make, and what is wrong."""

    state: BuilderState
    config: dict[str, Any]
    errors: dict[str, str]
    json_error: str = ""
    json_text: str = ""
    action: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors and not self.json_error


def fill_defaults(row: Row, choices: BuilderChoices) -> Row:
    """Pick the dataset's first fitting choice for fields a fresh row leaves empty."""
    if row.input == "EMBEDDINGS" and not row.embedding and len(choices.embeddings) > 1:
        row.embedding = choices.embeddings[0]
    if row.input == "SCORES" and not row.score_task and choices.scores:
        row.score_task, row.score_name = choices.scores[0]
    if row.input == "METADATA" and not row.metadata_key:
        keys = (
            list(choices.string_metadata)
            if row.metadata_kind == "string"
            else choices.numeric_metadata
        )
        if keys:
            row.metadata_key = keys[0]
    if row.input == "PREDICTIONS" and not row.pred_task and choices.prediction_tasks:
        tasks = list(choices.prediction_tasks)
        predictions = [t for t in tasks if t != "ground_truth"]
        row.pred_task = (predictions or tasks)[0]
    return row


def new_row(choices: BuilderChoices, existing: list[Row]) -> Row:
    """A sensible next row: diversity first, then weights on a score (or metadata, or random)."""
    if not existing:
        return fill_defaults(Row(), choices)
    if choices.scores:
        row = Row(strategy="WEIGHTS", input="SCORES")
    elif choices.numeric_metadata:
        row = Row(strategy="WEIGHTS", input="METADATA")
    else:
        row = Row(strategy="WEIGHTS", input="RANDOM")
    return fill_defaults(row, choices)


def builder_form(
    data: Any, choices: BuilderChoices, *, initial: dict[str, Any] | None = None
) -> BuilderForm:
    """Process the builder's part of a request. ``data`` is ``request.POST`` (or None for the
    first GET, which shows ``initial`` or the default config)."""
    if data is None:
        state = state_from_config(initial or DEFAULT_CONFIG)
        config, errors = validate_state(state)
        return BuilderForm(state=state, config=config, errors=errors)
    values = data.dict() if hasattr(data, "dict") else dict(data)
    action = str(values.get("action", ""))
    json_error = ""
    json_text = ""
    if action == "load_json":
        pasted, json_error = parse_pasted_json(str(values.get("config_json", "")))
        if pasted is None:
            state = state_from_form(values)
            json_text = str(values.get("config_json", ""))
        else:
            state = state_from_config(pasted)
    else:
        state = state_from_form(values)
        state.rows = [fill_defaults(row, choices) for row in state.rows]
        if action == "add":
            state.rows.append(new_row(choices, state.rows))
        elif action.startswith("remove:"):
            with contextlib.suppress(ValueError, IndexError):
                del state.rows[int(action.split(":", 1)[1])]
    config, errors = validate_state(state)
    return BuilderForm(
        state=state,
        config=config,
        errors=errors,
        json_error=json_error,
        json_text=json_text,
        action=action,
    )


def builder_context(form: BuilderForm, choices: BuilderChoices) -> dict[str, Any]:
    """Template context for ``curation/builder_fields.html``."""
    choices = choices.with_current(form.state)
    row_errors, top_errors = errors_by_row(form.errors)
    rows = []
    for i, row in enumerate(form.state.rows):
        classes = choices.classes_for(
            row.input, row.pred_task if row.input == "PREDICTIONS" else row.metadata_key
        )
        shares = row.target_dict
        names = list(dict.fromkeys([*classes, *shares]))
        metadata_keys = (
            list(choices.string_metadata)
            if row.metadata_kind == "string"
            else list(choices.numeric_metadata)
        )
        rows.append(
            {
                "i": i,
                "row": row,
                "errors": row_errors.get(i, {}),
                "inputs": [(t, INPUT_LABELS[t]) for t in row.allowed_inputs],
                "metadata_keys": metadata_keys,
                "targets": [(name, shares.get(name, "")) for name in names],
                "extra_input": config_json(row.extra_input) if row.extra_input else "",
                "extra_strategy": config_json(row.extra_strategy) if row.extra_strategy else "",
            }
        )
    return {
        "builder": form,
        "rows": rows,
        "top_errors": top_errors,
        "choices": choices,
        "strategies": STRATEGIES,
        "operations": list(OPERATION_LABELS.items()),
        "distributions": list(DISTRIBUTION_LABELS.items()),
        "prediction_names": PREDICTION_NAMES,
        "config_text": form.json_text or config_json(form.config),
        "extra_text": config_json(form.state.extra) if form.state.extra else "",
    }


def _render_builder(
    request: HtmxRequest,
    *,
    form: BuilderForm,
    choices: BuilderChoices,
    dataset: Dataset | None,
    preset: StrategyPreset | None,
    preset_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    if preset is not None:
        action_url = reverse("preset-edit", args=[preset.pk])
        if dataset is not None:
            action_url += f"?dataset={dataset.pk}"
    else:
        assert dataset is not None
        action_url = reverse("builder", args=[dataset.pk])
    context = builder_context(form, choices)
    context.update(
        dataset=dataset,
        preset=preset,
        action_url=action_url,
        preset_errors=preset_errors or {},
        visibilities=StrategyPreset.Visibility.choices,
        preset_values=_preset_values(request, preset),
        datasets=list(datasets_visible_to(request.user).order_by("name")[:50])
        if preset is not None
        else [],
    )
    template = "curation/builder.html"
    if request.htmx and not request.htmx.boosted:
        template += "#form"
    return render(request, template, context, status=status)


def _preset_values(request: HtmxRequest, preset: StrategyPreset | None) -> dict[str, str]:
    if request.method == "POST":
        return {
            "name": request.POST.get("preset_name", ""),
            "description": request.POST.get("preset_description", ""),
            "visibility": request.POST.get("preset_visibility", "private"),
        }
    if preset is not None:
        return {
            "name": preset.name,
            "description": preset.description,
            "visibility": preset.visibility,
        }
    return {"name": "", "description": "", "visibility": "private"}


def _redirect(request: HtmxRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _save_preset(
    request: HtmxRequest,
    *,
    form: Any,
    choices: Any,
    dataset: Dataset | None,
    preset: StrategyPreset | None,
    save: Callable[[], StrategyPreset],
) -> HttpResponse:
    """Save the builder's config through ``save`` and go to the library; on an error show the
    builder again with the message next to its field."""
    if not form.valid:
        error = {"form": "Fix the errors in the rows before saving."}
    else:
        try:
            saved = save()
        except PresetError as exc:
            if preset is not None:
                preset.refresh_from_db()
            error = {exc.field or "form": str(exc)}
        else:
            messages.success(request, f"Saved the preset {saved.name!r}.")
            return _redirect(request, reverse("preset-list"))
    return _render_builder(
        request, form=form, choices=choices, dataset=dataset, preset=preset, preset_errors=error
    )


@login_required
@require_http_methods(["GET", "POST"])
def builder(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    """Compose a config on a dataset's inputs; save it as a preset."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    choices = builder_choices(dataset)
    form = builder_form(request.POST if request.method == "POST" else None, choices)
    if form.action == "save_preset":
        return _save_preset(
            request,
            form=form,
            choices=choices,
            dataset=dataset,
            preset=None,
            save=lambda: preset_create(
                owner=request.user,
                name=request.POST.get("preset_name", ""),
                description=request.POST.get("preset_description", ""),
                visibility=request.POST.get("preset_visibility", "private"),
                config=form.config,
            ),
        )
    return _render_builder(request, form=form, choices=choices, dataset=dataset, preset=None)


@login_required
@require_http_methods(["GET", "POST"])
def preset_edit(request: HtmxRequest, preset_id: int) -> HttpResponse:
    """Edit a preset in the builder (owner only); ``?dataset=ID`` takes the choices from a
    dataset, otherwise the fields are free text."""
    preset = get_preset_for_user(request.user, preset_id, write=True)
    dataset = None
    if request.GET.get("dataset"):
        dataset = get_dataset_for_user(request.user, request.GET["dataset"])
    choices = builder_choices(dataset)
    form = builder_form(
        request.POST if request.method == "POST" else None, choices, initial=preset.config
    )
    if form.action == "save_preset":

        def save() -> StrategyPreset:
            preset_update(
                preset=preset,
                name=request.POST.get("preset_name", preset.name),
                description=request.POST.get("preset_description", preset.description),
                visibility=request.POST.get("preset_visibility", preset.visibility),
                config=form.config,
            )
            return preset

        return _save_preset(
            request, form=form, choices=choices, dataset=dataset, preset=preset, save=save
        )
    return _render_builder(request, form=form, choices=choices, dataset=dataset, preset=preset)
