"""Preset services: validation through parse_config, visibility, names, duplicate, last used."""

from __future__ import annotations

import pytest

from curation.models import StrategyPreset
from curation.presets.services import (
    PresetError,
    preset_create,
    preset_delete,
    preset_duplicate,
    preset_mark_used,
    preset_update,
)

CONFIG = {
    "n_samples": 10,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


def test_it_creates_a_private_preset(alice):
    preset = preset_create(owner=alice, name="  diverse ", config=CONFIG, description="d")
    preset.refresh_from_db()
    assert (preset.name, preset.visibility, preset.config, preset.team) == (
        "diverse",
        "private",
        CONFIG,
        None,
    )


def test_it_rejects_an_invalid_config_naming_the_path(alice):
    bad = {
        "n_samples": 10,
        "strategies": [
            {
                "input": {"type": "SCORES", "task": "t", "score": "s"},
                "strategy": {"type": "DIVERSITY"},
            }
        ],
    }
    with pytest.raises(PresetError) as info:
        preset_create(owner=alice, name="bad", config=bad)
    assert "strategies[0].input.type" in str(info.value)
    assert info.value.field == "strategies[0].input.type"
    assert not StrategyPreset.objects.exists()


def test_team_visibility_uses_the_owners_team(alice, team, charlie):
    preset = preset_create(owner=alice, name="shared", config=CONFIG, visibility="team")
    assert preset.team == team
    with pytest.raises(PresetError, match="team"):
        preset_create(owner=charlie, name="lonely", config=CONFIG, visibility="team")
    with pytest.raises(PresetError, match="Visibility"):
        preset_create(owner=alice, name="x", config=CONFIG, visibility="everybody")


def test_names_are_unique_per_owner(alice, bob):
    preset_create(owner=alice, name="same", config=CONFIG)
    preset_create(owner=bob, name="same", config=CONFIG)
    with pytest.raises(PresetError, match="already have"):
        preset_create(owner=alice, name="same", config=CONFIG)
    with pytest.raises(PresetError, match="needs a name"):
        preset_create(owner=alice, name="  ", config=CONFIG)


def test_it_updates_fields_and_validates(alice):
    preset = preset_create(owner=alice, name="a", config=CONFIG)
    other = preset_create(owner=alice, name="b", config=CONFIG)
    new_config = {**CONFIG, "n_samples": 3}
    preset_update(preset=preset, name="renamed", config=new_config, visibility="public")
    preset.refresh_from_db()
    assert (preset.name, preset.config["n_samples"], preset.visibility) == ("renamed", 3, "public")
    with pytest.raises(PresetError):
        preset_update(preset=preset, config={"n_samples": 0, "strategies": []})
    with pytest.raises(PresetError, match="already have"):
        preset_update(preset=other, name="renamed")
    preset.refresh_from_db()
    assert preset.config["n_samples"] == 3


def test_duplicate_makes_a_private_copy_with_a_free_name(alice, bob):
    original = preset_create(owner=alice, name="team one", config=CONFIG, visibility="team")
    first = preset_duplicate(preset=original, owner=bob)
    second = preset_duplicate(preset=original, owner=bob)
    assert (first.owner, first.name, first.visibility) == (bob, "team one (copy)", "private")
    assert second.name == "team one (copy 2)"
    assert first.config == original.config


def test_delete_and_mark_used(alice, bob):
    preset = preset_create(owner=alice, name="p", config=CONFIG, visibility="public")
    preset_mark_used(preset=preset, user=bob)
    preset.refresh_from_db()
    assert preset.last_used_by == bob and preset.last_used_at is not None
    preset_delete(preset=preset)
    assert not StrategyPreset.objects.filter(pk=preset.pk).exists()
