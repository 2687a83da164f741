"""Strategy presets: the shared library of named selection configs.

Every write validates the config with the selection engine's ``parse_config`` so a preset can
always be run, and stores it in the LightlyOne Worker docs' form (``strength`` inside
``strategy``) so it also runs unchanged on a Worker. :func:`preset_import` reads a config as the
docs write it (comments, trailing commas, Python literals) through ``config_from_text``.
Permissions (who may see or change a preset) are checked by the callers through
``curation.access``; these functions only enforce what is true for everybody.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from curation.formats.config_text import ConfigTextError, config_from_text, config_worker_form
from curation.models import StrategyPreset
from curation.selection import ConfigError, parse_config

VISIBILITIES = tuple(v.value for v in StrategyPreset.Visibility)


class PresetError(ValueError):
    """A preset request that cannot be carried out; the message says why (and ``field``
    names the form field or JSON path it is about, when there is one)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise PresetError("A preset needs a name.", field="name")
    if len(name) > 200:
        raise PresetError("A preset name may have at most 200 characters.", field="name")
    return name


def _clean_config(config: Any) -> dict[str, Any]:
    """The validated config in the Worker docs' form (strength inside ``strategy``)."""
    try:
        parse_config(config)
    except ConfigError as exc:
        where = exc.path or "config"
        raise PresetError(f"The config is invalid at {where}: {exc.detail}.", field=where) from None
    return config_worker_form(dict(config))


def _team_for(owner: Any, visibility: str, team: Any) -> Any:
    if visibility not in VISIBILITIES:
        raise PresetError(
            f"Visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}.",
            field="visibility",
        )
    if visibility != StrategyPreset.Visibility.TEAM:
        return team
    if team is None:
        team = owner.groups.order_by("name").first()
    if team is None:
        raise PresetError(
            "Only members of a team can share a preset with their team; choose private or public.",
            field="visibility",
        )
    if not owner.groups.filter(pk=team.pk).exists():
        raise PresetError(f"You are not a member of the team {team.name!r}.", field="visibility")
    return team


def _unique_name_error(name: str) -> PresetError:
    return PresetError(
        f"You already have a preset named {name!r}; choose another name.", field="name"
    )


def preset_create(
    *,
    owner: Any,
    name: str,
    config: Any,
    description: str = "",
    visibility: str = StrategyPreset.Visibility.PRIVATE,
    team: Any = None,
) -> StrategyPreset:
    """Create a preset owned by ``owner``. Team visibility uses ``team`` or the owner's first
    team. Raises :class:`PresetError` (nothing is written then)."""
    name = _clean_name(name)
    clean = _clean_config(config)
    team = _team_for(owner, visibility, team)
    try:
        with transaction.atomic():
            return StrategyPreset.objects.create(
                owner=owner,
                name=name,
                description=(description or "").strip(),
                visibility=visibility,
                team=team,
                config=clean,
            )
    except IntegrityError:
        raise _unique_name_error(name) from None


def preset_update(
    *,
    preset: StrategyPreset,
    name: str | None = None,
    config: Any = None,
    description: str | None = None,
    visibility: str | None = None,
    team: Any = None,
) -> StrategyPreset:
    """Change the given fields of ``preset`` (None = keep). Raises :class:`PresetError`."""
    fields: list[str] = []
    if name is not None:
        preset.name = _clean_name(name)
        fields.append("name")
    if config is not None:
        preset.config = _clean_config(config)
        fields.append("config")
    if description is not None:
        preset.description = description.strip()
        fields.append("description")
    if visibility is not None or team is not None:
        visibility = visibility or preset.visibility
        preset.team = _team_for(preset.owner, visibility, team or preset.team)
        preset.visibility = visibility
        fields += ["visibility", "team"]
    if not fields:
        return preset
    try:
        with transaction.atomic():
            preset.save(update_fields=[*fields, "updated"])
    except IntegrityError:
        raise _unique_name_error(preset.name) from None
    return preset


def preset_import(
    *,
    owner: Any,
    name: str,
    text: str,
    description: str = "",
    visibility: str = StrategyPreset.Visibility.PRIVATE,
    team: Any = None,
) -> StrategyPreset:
    """Create a preset from a config as the docs write it (``#`` / ``//`` comments, trailing
    commas, ``True`` / ``False`` / ``None``). A syntax error names its line and column
    (``field="config_text"``), a content error its JSON path. Nothing is written on error."""
    try:
        config = config_from_text(text or "", what="The config text")
    except ConfigTextError as exc:
        raise PresetError(str(exc), field="config_text") from None
    return preset_create(
        owner=owner,
        name=name,
        config=config,
        description=description,
        visibility=visibility,
        team=team,
    )


def preset_delete(*, preset: StrategyPreset) -> None:
    """Delete ``preset``; runs made with it keep their config snapshot."""
    preset.delete()


def preset_duplicate(
    *, preset: StrategyPreset, owner: Any, name: str | None = None
) -> StrategyPreset:
    """A private copy of ``preset`` owned by ``owner``, named '<name> (copy)' (or 'copy 2', …)."""
    if name is None:
        base = f"{preset.name} (copy)"
        taken = set(
            StrategyPreset.objects.filter(owner=owner, name__startswith=preset.name).values_list(
                "name", flat=True
            )
        )
        name, number = base, 2
        while name in taken:
            name = f"{preset.name} (copy {number})"
            number += 1
    return preset_create(
        owner=owner,
        name=name,
        config=preset.config,
        description=preset.description,
        visibility=StrategyPreset.Visibility.PRIVATE,
    )


def preset_mark_used(*, preset: StrategyPreset, user: Any) -> None:
    """Record that ``user`` just used ``preset`` (shown as 'last used … by …')."""
    now = timezone.now()
    StrategyPreset.objects.filter(pk=preset.pk).update(last_used_at=now, last_used_by=user)
    preset.last_used_at = now
    preset.last_used_by = user
