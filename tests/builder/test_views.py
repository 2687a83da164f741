"""The strategy builder page (rows added/removed by posting the whole form) and preset editing."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from curation.models import StrategyPreset
from curation.presets.services import preset_create
from tests.support.selection_pages import populate

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def data(dataset):
    populate(dataset)
    return dataset


def url(dataset):
    return reverse("builder", args=[dataset.pk])


def base_form(**extra):
    form = {
        "rows": "1",
        "count_mode": "n",
        "n_samples": "20",
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "s0-strength": "1.0",
    }
    form.update(extra)
    return form


def test_it_requires_login(client, data):
    response = client.get(url(data))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_hides_the_dataset_from_outsiders(client, charlie, data):
    client.force_login(charlie)
    assert client.get(url(data)).status_code == 404
    assert client.post(url(data), base_form(action="add")).status_code == 404


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_shows_the_whole_page_with_the_datasets_choices(client, request, who, data):
    client.force_login(request.getfixturevalue(who))
    response = client.get(url(data))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'id="builder-form"' in html
    assert 'name="s0-strategy"' in html and 'value="DIVERSITY" selected' in html
    assert "default (default)" in html  # the only embedding space
    assert "&quot;n_samples&quot;: 100" in html  # live JSON view


def test_add_row_posts_the_form_and_returns_the_fragment(client, alice, data):
    client.force_login(alice)
    response = client.post(url(data), base_form(action="add"), **HX)
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith("<form")
    assert 'name="rows" value="2"' in html
    assert 'name="s1-strategy"' in html
    # the second row is WEIGHTS on the dataset's score, which the JSON view shows
    assert 'value="WEIGHTS" selected' in html
    assert "clf · uncertainty_entropy" in html
    assert "&quot;score&quot;: &quot;uncertainty_entropy&quot;" in html
    assert "Valid config" in html


def test_remove_row_drops_that_row(client, alice, data):
    client.force_login(alice)
    form = base_form(
        rows="2", action="remove:0", **{"s1-strategy": "TYPICALITY", "s1-input": "EMBEDDINGS"}
    )
    html = client.post(url(data), form, **HX).content.decode()
    assert 'name="rows" value="1"' in html
    assert 'value="TYPICALITY" selected' in html
    assert 'name="s1-strategy"' not in html


def test_the_strategy_drives_inputs_and_parameter_fields(client, alice, data):
    client.force_login(alice)
    form = base_form(**{"s0-strategy": "THRESHOLD", "s0-input": "EMBEDDINGS"})
    html = client.post(url(data), form, **HX).content.decode()
    row = html.split('id="row-0"')[1].split("</fieldset>")[0]
    assert '<option value="SCORES"' in row and '<option value="METADATA"' in row
    assert '<option value="EMBEDDINGS"' not in row and '<option value="RANDOM"' not in row
    assert 'name="s0-threshold"' in row and 'name="s0-operation"' in row
    assert 'name="s0-strength"' not in row  # THRESHOLD takes no strength
    # the missing threshold is reported next to its field, from parse_config's JSON path
    assert "threshold is required for THRESHOLD" in row


def test_balance_on_metadata_offers_string_keys_and_their_classes(client, alice, data):
    client.force_login(alice)
    form = base_form(
        **{"s0-strategy": "BALANCE", "s0-input": "METADATA", "s0-metadata_key": "split"}
    )
    html = client.post(url(data), form, **HX).content.decode()
    row = html.split('id="row-0"')[1].split("</fieldset>")[0]
    assert '<option value="split" selected' in row
    assert '<option value="weather.description"' in row
    assert '<option value="lightly.sharpness"' not in row  # numeric keys do not balance
    assert 'name="s0-target:train"' in row and 'name="s0-target:test"' in row
    assert 'name="s0-distribution"' in row


def test_similarity_offers_the_datasets_tags(client, alice, data):
    client.force_login(alice)
    form = base_form(**{"s0-strategy": "SIMILARITY"})
    html = client.post(url(data), form, **HX).content.decode()
    assert '<option value="query">' in html
    assert "SIMILARITY needs a query set" in html


def test_pasted_worker_config_loads_into_rows(client, alice, data):
    client.force_login(alice)
    pasted = {
        "proportion_samples": 0.5,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "strength": 0.6}},
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "THRESHOLD", "threshold": 20, "operation": "BIGGER"},
            },
        ],
    }
    form = base_form(action="load_json", config_json=json.dumps(pasted))
    html = client.post(url(data), form, **HX).content.decode()
    assert 'name="rows" value="2"' in html
    assert 'id="count-mode-proportion" checked' in html and 'value="50"' in html
    assert 'name="s0-strength" id="s0-strength" value="0.6"' in html
    assert 'name="s1-threshold" id="s1-threshold" value="20"' in html
    assert "Valid config" in html


def test_invalid_json_is_one_sentence_with_line_and_column(client, alice, data):
    client.force_login(alice)
    form = base_form(action="load_json", config_json='{\n "n_samples": 100\n "strategies": []}')
    html = client.post(url(data), form, **HX).content.decode()
    message = "The pasted text is not valid JSON: unexpected &#x27;&quot;&#x27; at line 3, column 2"
    assert message in html
    assert 'name="rows" value="1"' in html  # the rows are untouched


def test_it_saves_the_rows_as_a_preset(client, bob, data):
    client.force_login(bob)
    form = base_form(
        action="save_preset",
        preset_name="diverse 20",
        preset_description="d",
        preset_visibility="team",
    )
    response = client.post(url(data), form)
    assert response.status_code == 302 and response["Location"] == reverse("preset-list")
    preset = StrategyPreset.objects.get()
    assert (preset.owner, preset.name, preset.visibility, preset.team.name) == (
        bob,
        "diverse 20",
        "team",
        "vision-team",
    )
    assert preset.config == {
        "n_samples": 20,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    }


def test_htmx_save_redirects_the_client(client, alice, data):
    client.force_login(alice)
    response = client.post(url(data), base_form(action="save_preset", preset_name="p"), **HX)
    assert response["HX-Redirect"] == reverse("preset-list")
    assert StrategyPreset.objects.filter(name="p", owner=alice).exists()


def test_it_does_not_save_an_invalid_config_or_a_taken_name(client, alice, data):
    client.force_login(alice)
    bad = base_form(
        action="save_preset",
        preset_name="bad",
        **{"s0-strategy": "THRESHOLD", "s0-input": "METADATA"},
    )
    html = client.post(url(data), bad, **HX).content.decode()
    assert "Fix the errors in the rows before saving." in html
    preset_create(
        owner=alice,
        name="taken",
        config={
            "n_samples": 1,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        },
    )
    html = client.post(
        url(data), base_form(action="save_preset", preset_name="taken"), **HX
    ).content.decode()
    assert "You already have a preset named" in html
    assert StrategyPreset.objects.count() == 1


@pytest.fixture
def team_preset(alice):
    return preset_create(
        owner=alice,
        name="team diverse",
        visibility="team",
        config={
            "n_samples": 7,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        },
    )


def test_the_owner_edits_a_preset_in_the_builder(client, alice, data, team_preset):
    client.force_login(alice)
    edit = reverse("preset-edit", args=[team_preset.pk])
    html = client.get(edit + f"?dataset={data.pk}").content.decode()
    assert "Edit preset “team diverse”" in html and 'value="7"' in html
    form = base_form(
        action="save_preset",
        preset_name="team diverse v2",
        preset_visibility="public",
        n_samples="9",
    )
    response = client.post(edit + f"?dataset={data.pk}", form)
    assert response.status_code == 302
    team_preset.refresh_from_db()
    assert (team_preset.name, team_preset.visibility, team_preset.config["n_samples"]) == (
        "team diverse v2",
        "public",
        9,
    )


def test_edit_without_a_dataset_uses_free_text_fields(client, alice, team_preset):
    client.force_login(alice)
    html = client.get(reverse("preset-edit", args=[team_preset.pk])).content.decode()
    assert 'type="text" name="s0-embedding"' in html


def test_only_the_owner_may_edit(client, bob, charlie, team_preset):
    edit = reverse("preset-edit", args=[team_preset.pk])
    client.force_login(bob)
    assert client.get(edit).status_code == 403
    assert client.post(edit, base_form(action="save_preset", preset_name="mine")).status_code == 403
    client.force_login(charlie)
    assert client.get(edit).status_code == 404
    team_preset.refresh_from_db()
    assert team_preset.name == "team diverse"
