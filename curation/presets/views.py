"""The preset library: search, import (a config pasted from the docs), duplicate, edit (in the
builder) and delete presets."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from curation.access import get_preset_for_user, presets_visible_to
from curation.builder.rows import config_json
from curation.models import StrategyPreset
from curation.presets.forms import SCOPES, PresetImportForm, PresetSearchForm
from curation.presets.services import (
    PresetError,
    preset_delete,
    preset_duplicate,
    preset_import,
)
from curation.web.pages import HtmxRequest, render_page


def _summary(config: dict) -> list[str]:
    """'DIVERSITY on EMBEDDINGS', … for the list."""
    out = []
    for entry in config.get("strategies", []) if isinstance(config, dict) else []:
        strategy = (entry.get("strategy") or {}).get("type", "?")
        source = entry.get("input") or {}
        detail = source.get("key") or source.get("score") or source.get("embedding") or ""
        out.append(f"{strategy} · {source.get('type', '?')}{f' {detail}' if detail else ''}")
    return out


@login_required
def preset_list(request: HtmxRequest) -> HttpResponse:
    presets = presets_visible_to(request.user).select_related("owner", "team", "last_used_by")
    search = PresetSearchForm(request.GET).values()
    query, scope = search["q"], search["scope"]
    if query:
        presets = presets.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if scope == "mine":
        presets = presets.filter(owner_id=request.user.pk)
    elif scope == "team":
        presets = presets.filter(visibility=StrategyPreset.Visibility.TEAM)
    elif scope == "public":
        presets = presets.filter(visibility=StrategyPreset.Visibility.PUBLIC)
    page = Paginator(presets.order_by("name", "pk"), 50).get_page(search["page"])
    items = [
        {
            "preset": p,
            "can_write": request.user.is_staff or p.owner_id == request.user.pk,
            "summary": _summary(p.config),
            "json": config_json(p.config),
        }
        for p in page.object_list
    ]
    context = {"items": items, "page": page, "q": query, "scope": scope, "scopes": SCOPES}
    return render_page(request, "curation/presets.html", context, partial="results")


@login_required
@require_POST
def preset_duplicate_view(request: HtmxRequest, preset_id: int) -> HttpResponse:
    """Anyone who can see a preset may copy it into their own (private) presets."""
    preset = get_preset_for_user(request.user, preset_id)
    try:
        copy = preset_duplicate(preset=preset, owner=request.user)
    except PresetError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Copied {preset.name!r} to your preset {copy.name!r}.")
    return HttpResponseRedirect(reverse("preset-list"))


@login_required
@require_POST
def preset_delete_view(request: HtmxRequest, preset_id: int) -> HttpResponse:
    """Owner (or staff) only: others who can see the preset get 403, the rest 404."""
    preset = get_preset_for_user(request.user, preset_id, write=True)
    name = preset.name
    preset_delete(preset=preset)
    messages.success(request, f"Deleted the preset {name!r}.")
    return HttpResponseRedirect(reverse("preset-list"))


@login_required
@require_http_methods(["GET", "POST"])
def preset_import_view(request: HtmxRequest) -> HttpResponse:
    """Paste a config as the docs write it (comments, trailing commas, True/False/None) and save
    it as one of your presets; an error is shown next to its field and nothing is saved."""
    form = PresetImportForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        values = form.values()
        try:
            preset = preset_import(
                owner=request.user,
                name=values["name"],
                text=values["config_text"],
                description=values["description"],
                visibility=values["visibility"],
            )
        except PresetError as exc:
            form.add_service_error(exc.field, str(exc))
        else:
            messages.success(request, f"Imported the preset {preset.name!r}.")
            return HttpResponseRedirect(reverse("preset-list"))
    context = {
        "form": form,
        "values": form.values(),
        "visibilities": StrategyPreset.Visibility.choices,
    }
    status = 400 if form.errors else 200
    return render(request, "curation/preset_import.html", context, status=status)
