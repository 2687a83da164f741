"""The strategy builder: rows of input + strategy + parameters + strength, as one plain form.

Every button ("add row", "remove row", "load JSON", "save as preset") posts the whole form and
the server re-renders it; htmx does the same on every change, so the rows always offer only the
valid combinations and show the errors ``parse_config`` finds next to the field they name.
Without JavaScript the same buttons work as ordinary form submits. The rows are a formset
(``curation.builder.forms``); ``curation.builder.editor`` applies the buttons and validates.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from curation.access import datasets_visible_to, get_dataset_for_user, get_preset_for_user
from curation.builder.choices import BuilderChoices, builder_choices
from curation.builder.editor import BuilderForm, builder_context, builder_form
from curation.builder.forms import PresetSaveForm
from curation.models import Dataset, StrategyPreset
from curation.presets.services import PresetError, preset_create, preset_update
from curation.web.pages import HtmxRequest, render_page


def _render_builder(
    request: HtmxRequest,
    *,
    form: BuilderForm,
    preset_form: PresetSaveForm,
    choices: BuilderChoices,
    dataset: Dataset | None,
    preset: StrategyPreset | None,
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
        preset_form=preset_form,
        visibilities=StrategyPreset.Visibility.choices,
        preset_values=preset_form.values(),
        datasets=list(datasets_visible_to(request.user).order_by("name")[:50])
        if preset is not None
        else [],
    )
    return render_page(request, "curation/builder.html", context, partial="form")


def _redirect(request: HtmxRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _save_preset(
    request: HtmxRequest,
    *,
    form: BuilderForm,
    preset_form: PresetSaveForm,
    choices: BuilderChoices,
    dataset: Dataset | None,
    preset: StrategyPreset | None,
    save: Callable[[dict[str, str]], StrategyPreset],
) -> HttpResponse:
    """Save the builder's config through ``save`` and go to the library; on an error show the
    builder again with the message next to its field."""
    if not form.valid:
        preset_form.add_error(None, "Fix the errors in the rows before saving.")
    else:
        try:
            saved = save(preset_form.values())
        except PresetError as exc:
            if preset is not None:
                preset.refresh_from_db()
            preset_form.add_service_error(exc.field, str(exc))
        else:
            messages.success(request, f"Saved the preset {saved.name!r}.")
            return _redirect(request, reverse("preset-list"))
    return _render_builder(
        request,
        form=form,
        preset_form=preset_form,
        choices=choices,
        dataset=dataset,
        preset=preset,
    )


@login_required
@require_http_methods(["GET", "POST"])
def builder(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    """Compose a config on a dataset's inputs; save it as a preset."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    choices = builder_choices(dataset)
    post = request.POST if request.method == "POST" else None
    form = builder_form(post, choices)
    preset_form = PresetSaveForm(post)
    if form.action == "save_preset":
        return _save_preset(
            request,
            form=form,
            preset_form=preset_form,
            choices=choices,
            dataset=dataset,
            preset=None,
            save=lambda values: preset_create(owner=request.user, config=form.config, **values),
        )
    return _render_builder(
        request, form=form, preset_form=preset_form, choices=choices, dataset=dataset, preset=None
    )


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
    post = request.POST if request.method == "POST" else None
    form = builder_form(post, choices, initial=preset.config)
    initial = {
        "preset_name": preset.name,
        "preset_description": preset.description,
        "preset_visibility": preset.visibility,
    }
    preset_form = PresetSaveForm(post, initial=initial)
    if form.action == "save_preset":

        def save(values: dict[str, str]) -> StrategyPreset:
            preset_update(preset=preset, config=form.config, **values)
            return preset

        return _save_preset(
            request,
            form=form,
            preset_form=preset_form,
            choices=choices,
            dataset=dataset,
            preset=preset,
            save=save,
        )
    return _render_builder(
        request, form=form, preset_form=preset_form, choices=choices, dataset=dataset, preset=preset
    )
