"""The preset library: list and search what the user may see; duplicate; delete (owner only)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import StrategyPreset
from curation.presets.services import preset_create, preset_mark_used

CONFIG = {
    "n_samples": 10,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def presets(alice, bob, charlie):
    return {
        "private": preset_create(owner=alice, name="alice private", config=CONFIG),
        "team": preset_create(
            owner=alice,
            name="alice team",
            config=CONFIG,
            visibility="team",
            description="for the vision team",
        ),
        "public": preset_create(
            owner=charlie, name="charlie public", config=CONFIG, visibility="public"
        ),
        "charlie": preset_create(owner=charlie, name="charlie private", config=CONFIG),
    }


def names(response):
    html = response.content.decode()
    return {p.name for p in StrategyPreset.objects.all() if f">{p.name}<" in html}


def test_it_requires_login(client):
    response = client.get(reverse("preset-list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_each_user_sees_own_team_and_public_presets(client, alice, bob, charlie, presets):
    client.force_login(alice)
    assert names(client.get(reverse("preset-list"))) == {
        "alice private",
        "alice team",
        "charlie public",
    }
    client.force_login(bob)
    assert names(client.get(reverse("preset-list"))) == {"alice team", "charlie public"}
    client.force_login(charlie)
    assert names(client.get(reverse("preset-list"))) == {"charlie public", "charlie private"}


def test_search_returns_the_results_fragment_for_htmx(client, bob, presets):
    client.force_login(bob)
    response = client.get(reverse("preset-list"), {"q": "vision"}, **HX)
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<section id="preset-results"')
    assert names(response) == {"alice team"}
    page = client.get(reverse("preset-list"), {"q": "vision"}).content.decode()
    assert "<html" in page and "alice team" in page


def test_scope_filters(client, alice, presets):
    client.force_login(alice)
    assert names(client.get(reverse("preset-list"), {"scope": "mine"})) == {
        "alice private",
        "alice team",
    }
    assert names(client.get(reverse("preset-list"), {"scope": "public"})) == {"charlie public"}


def test_it_shows_last_used_and_by_whom(client, alice, bob, presets):
    preset_mark_used(preset=presets["team"], user=bob)
    client.force_login(alice)
    html = client.get(reverse("preset-list")).content.decode()
    row = html.split(f'id="preset-{presets["team"].pk}"')[1].split("</tr>")[0]
    assert "ago" in row and "by bob" in row


def test_only_owners_see_edit_and_delete(client, bob, presets):
    client.force_login(bob)
    html = client.get(reverse("preset-list")).content.decode()
    row = html.split(f'id="preset-{presets["team"].pk}"')[1].split("</tr>")[0]
    assert "Duplicate" in row
    assert "Delete" not in row and "Edit" not in row


def test_a_team_member_duplicates_a_team_preset(client, bob, presets):
    client.force_login(bob)
    response = client.post(reverse("preset-duplicate", args=[presets["team"].pk]))
    assert response.status_code == 302
    copy = StrategyPreset.objects.get(owner=bob)
    assert (copy.name, copy.visibility, copy.config) == ("alice team (copy)", "private", CONFIG)


def test_outsiders_cannot_duplicate_what_they_cannot_see(client, charlie, presets):
    client.force_login(charlie)
    assert client.post(reverse("preset-duplicate", args=[presets["team"].pk])).status_code == 404
    assert not StrategyPreset.objects.filter(owner=charlie, name__contains="copy").exists()


def test_the_owner_deletes(client, alice, presets):
    client.force_login(alice)
    response = client.post(reverse("preset-delete", args=[presets["team"].pk]))
    assert response.status_code == 302
    assert not StrategyPreset.objects.filter(pk=presets["team"].pk).exists()


def test_others_cannot_delete(client, bob, charlie, presets):
    client.force_login(bob)
    assert client.post(reverse("preset-delete", args=[presets["team"].pk])).status_code == 403
    client.force_login(charlie)
    assert client.post(reverse("preset-delete", args=[presets["team"].pk])).status_code == 404
    assert client.post(reverse("preset-delete", args=[presets["private"].pk])).status_code == 404
    assert (
        StrategyPreset.objects.filter(pk__in=[presets["team"].pk, presets["private"].pk]).count()
        == 2
    )


def test_delete_needs_post(client, alice, presets):
    client.force_login(alice)
    assert client.get(reverse("preset-delete", args=[presets["team"].pk])).status_code == 405
    assert StrategyPreset.objects.filter(pk=presets["team"].pk).exists()
