"""``/api/presets/``: visibility private / team / public, owner-only writes, duplicate."""

from __future__ import annotations

import pytest

from curation.models import StrategyPreset
from tests.support.api import iso

CONFIG = {
    "n_samples": 5,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


def preset_json(preset, can_edit):
    return {
        "id": preset.pk,
        "name": preset.name,
        "description": preset.description,
        "owner": preset.owner.username,
        "visibility": preset.visibility,
        "team": preset.team.name if preset.team else None,
        "config": preset.config,
        "can_edit": can_edit,
        "created": iso(preset.created),
        "updated": iso(preset.updated),
        "last_used_at": None,
        "last_used_by": None,
    }


@pytest.fixture
def presets(alice, team):
    make = StrategyPreset.objects.create
    return {
        "private": make(owner=alice, name="mine", config=CONFIG),
        "team": make(owner=alice, name="ours", config=CONFIG, visibility="team", team=team),
        "public": make(owner=alice, name="everyone", config=CONFIG, visibility="public"),
    }


@pytest.mark.parametrize(
    "who,visible",
    [
        ("alice", ["private", "team", "public"]),
        ("bob", ["team", "public"]),
        ("charlie", ["public"]),
    ],
)
def test_list_follows_visibility(api, presets, who, visible):
    response = api(who).get("/api/presets/")
    assert response.status_code == 200
    expected = [preset_json(presets[v], who == "alice") for v in visible]
    assert response.json() == {"next": None, "previous": None, "results": expected}


def test_anonymous_gets_401(api, presets):
    assert api("anonymous").get("/api/presets/").status_code == 401


def test_create(api, bob, team):
    body = {"name": "diverse", "config": CONFIG, "visibility": "team", "description": "d"}
    response = api("bob").post("/api/presets/", body)
    assert response.status_code == 201
    preset = StrategyPreset.objects.get(owner=bob)
    assert (preset.name, preset.visibility, preset.team, preset.config) == (
        "diverse",
        "team",
        team,
        CONFIG,
    )
    assert response.json() == preset_json(preset, True)


@pytest.mark.parametrize(
    "body,detail,path",
    [
        (
            {"name": "x", "config": {"n_samples": 5, "strategies": []}},
            "The config is invalid at strategies",
            "strategies",
        ),
        (
            {"name": "x", "config": {**CONFIG, "colour": 1}},
            "The config is invalid at colour",
            "colour",
        ),
        ({"name": "x", "config": [1]}, "config: The config must be a JSON object.", "config"),
        (
            {"name": "x", "config": CONFIG, "visibility": "world"},
            'visibility: "world" is not a valid choice.',
            "visibility",
        ),
        (
            {"name": "x", "config": CONFIG, "visibility": "team"},
            "Only members of a team can share",
            "visibility",
        ),
        ({"name": "x", "config": CONFIG, "team": "nope"}, "team: No team named 'nope'.", "team"),
        ({"name": "x", "config": CONFIG, "owner": "bob"}, "owner: Unknown field.", "owner"),
        ({"name": "x"}, "config: This field is required.", "config"),
    ],
)
def test_bad_create_is_400_and_writes_nothing(api, charlie, body, detail, path):
    response = api("charlie").post("/api/presets/", body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert response.json()["path"] == path
    assert not StrategyPreset.objects.exists()


def test_a_duplicate_name_is_400(api, presets):
    response = api("alice").post("/api/presets/", {"name": "mine", "config": CONFIG})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "You already have a preset named 'mine'; choose another name.",
        "path": "name",
    }


@pytest.mark.parametrize(
    "who,kind,code",
    [
        ("bob", "team", 200),
        ("bob", "private", 404),
        ("charlie", "team", 404),
        ("charlie", "public", 200),
        ("anonymous", "public", 401),
    ],
)
def test_detail_follows_visibility(api, presets, who, kind, code):
    assert api(who).get(f"/api/presets/{presets[kind].pk}/").status_code == code


def test_owner_updates_only_given_fields(api, presets):
    preset = presets["private"]
    response = api("alice").patch(f"/api/presets/{preset.pk}/", {"description": "new"})
    assert response.status_code == 200
    preset.refresh_from_db()
    assert (preset.name, preset.description, preset.config) == ("mine", "new", CONFIG)
    assert response.json() == preset_json(preset, True)


@pytest.mark.parametrize("who,code", [("bob", 403), ("charlie", 404), ("anonymous", 401)])
def test_others_cannot_update_or_delete_a_team_preset(api, presets, who, code):
    preset = presets["team"]
    response = api(who).patch(f"/api/presets/{preset.pk}/", {"name": "hijacked"})
    assert response.status_code == code
    if code == 403:
        assert response.json() == {
            "detail": "Only the owner of this preset may change or delete it."
        }
    assert api(who).delete(f"/api/presets/{preset.pk}/").status_code == code
    preset.refresh_from_db()
    assert preset.name == "ours"


def test_bad_update_changes_nothing(api, presets):
    preset = presets["private"]
    body = {"name": "renamed", "config": {"n_samples": "five", "strategies": []}}
    response = api("alice").patch(f"/api/presets/{preset.pk}/", body)
    assert response.status_code == 400
    preset.refresh_from_db()
    assert (preset.name, preset.config) == ("mine", CONFIG)


def test_owner_deletes(api, presets):
    assert api("alice").delete(f"/api/presets/{presets['public'].pk}/").status_code == 204
    assert not StrategyPreset.objects.filter(name="everyone").exists()


def test_team_member_duplicates_into_a_private_copy(api, presets, bob):
    response = api("bob").post(f"/api/presets/{presets['team'].pk}/duplicate/", {})
    assert response.status_code == 201
    copy = StrategyPreset.objects.get(owner=bob)
    assert (copy.name, copy.visibility, copy.config) == ("ours (copy)", "private", CONFIG)
    assert response.json() == preset_json(copy, True)


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_invisible_presets_cannot_be_duplicated(api, presets, who, code):
    assert api(who).post(f"/api/presets/{presets['team'].pk}/duplicate/", {}).status_code == code
    assert StrategyPreset.objects.count() == 3
