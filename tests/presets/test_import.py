"""Preset import: a config pasted from the docs becomes a preset (service, API, page)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import StrategyPreset
from curation.presets.services import PresetError, preset_import

DOCS_TEXT = """{
    "n_samples": 100, # put your number here
    "strategies": [
        {
            "input": {"type": "EMBEDDINGS"},
            "strategy": {"type": "DIVERSITY"},
            "strength": 1.5 // next to input and strategy, as in seed 001
        },
        {
            "input": {
                "type": "RANDOM",
                "random_seed": 42, # optional, for reproducibility
            },
            "strategy": {
                "type": "WEIGHTS",
            }
        }
    ]
}"""
STORED = {
    "n_samples": 100,
    "strategies": [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "strength": 1.5}},
        {"input": {"type": "RANDOM", "random_seed": 42}, "strategy": {"type": "WEIGHTS"}},
    ],
}


def test_the_service_stores_the_config_in_the_worker_docs_form(alice):
    preset = preset_import(owner=alice, name="docs", text=DOCS_TEXT)
    preset.refresh_from_db()
    assert preset.config == STORED and preset.owner == alice


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        (
            '{\n  "n_samples": 5 # five\n  "strategies": []\n}',
            "The config text is not valid JSON: unexpected '\"' at line 3, column 3.",
            "config_text",
        ),
        (
            '{"n_samples": 5, "strategies": [{"input": {"type": "PIXELS"}, "strategy": {}},],}',
            "The config is invalid at strategies[0].input.type: must be one of EMBEDDINGS",
            "strategies[0].input.type",
        ),
    ],
)
def test_bad_text_writes_nothing(alice, text, message, field):
    with pytest.raises(PresetError) as caught:
        preset_import(owner=alice, name="docs", text=text)
    assert str(caught.value).startswith(message) and caught.value.field == field
    assert not StrategyPreset.objects.exists()


# ----------------------------------------------------------------------- API


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_any_user_imports_a_preset_of_their_own(api, request, who):
    response = api(who).post(
        "/api/presets/import/",
        {"name": "docs", "config_text": DOCS_TEXT, "visibility": "private"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["config"] == STORED and response.json()["owner"] == who
    assert StrategyPreset.objects.get().owner == request.getfixturevalue(who)


def test_anonymous_import_is_401(api, db):
    response = api("anonymous").post(
        "/api/presets/import/", {"name": "docs", "config_text": DOCS_TEXT}, format="json"
    )
    assert response.status_code == 401
    assert not StrategyPreset.objects.exists()


def test_an_api_syntax_error_is_400_with_line_and_column(api, alice):
    response = api("alice").post(
        "/api/presets/import/",
        {"name": "docs", "config_text": DOCS_TEXT.replace('"WEIGHTS",', '"WEIGHTS" "x",')},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The config text is not valid JSON: unexpected '\"' at line 15, column 35.",
        "path": "config_text",
    }
    assert not StrategyPreset.objects.exists()


def test_the_api_itself_stays_strict_json(api, alice):
    response = api("alice").post(
        "/api/presets/",
        '{"name": "docs", "config": {"n_samples": 1,},}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not StrategyPreset.objects.exists()


# ----------------------------------------------------------------------- page


def test_the_page_requires_login(client):
    response = client.get(reverse("preset-import"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_the_page_imports_a_docs_config(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("preset-import")).status_code == 200
    response = client.post(
        reverse("preset-import"),
        {"name": "docs", "config_text": DOCS_TEXT, "visibility": "private"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("preset-list")
    preset = StrategyPreset.objects.get()
    assert preset.config == STORED and preset.owner.username == who


def test_the_page_shows_a_syntax_error_and_keeps_the_text(client, alice):
    client.force_login(alice)
    bad = DOCS_TEXT.replace('"WEIGHTS",', '"WEIGHTS" "x",')
    response = client.post(
        reverse("preset-import"), {"name": "docs", "config_text": bad, "visibility": "private"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "unexpected &#x27;&quot;&#x27; at line 15, column 35." in html
    assert "# put your number here" in html
    assert not StrategyPreset.objects.exists()


def test_the_page_refuses_a_missing_name(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("preset-import"), {"name": " ", "config_text": DOCS_TEXT, "visibility": "private"}
    )
    assert response.status_code == 400
    assert "A preset needs a name." in response.content.decode()
    assert not StrategyPreset.objects.exists()
