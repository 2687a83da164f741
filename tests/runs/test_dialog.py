"""The selection dialog: candidates from the browser's filter, tags, preset or builder, Start."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import SelectionRun, Tag
from curation.presets.services import preset_create
from tests.support.selection_pages import populate

HX = {"HTTP_HX_REQUEST": "true"}
DIVERSITY = {
    "n_samples": 5,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


@pytest.fixture
def data(dataset):
    populate(dataset)
    return dataset


def url(dataset, query=""):
    return reverse("selection-dialog", args=[dataset.pk]) + (f"?{query}" if query else "")


def start_form(**extra):
    form = {
        "action": "start",
        "rows": "2",
        "count_mode": "n",
        "n_samples": "5",
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "s0-strength": "1.0",
        "s1-strategy": "WEIGHTS",
        "s1-input": "SCORES",
        "s1-score": '["clf", "uncertainty_entropy"]',
        "s1-strength": "2",
        "result_tag_name": "picked",
        "mask_tag": "",
        "preselected_tag": "",
        "preset": "",
        "loaded_preset": "",
    }
    form.update(extra)
    return form


def test_it_requires_login(client, data):
    response = client.get(url(data))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_outsiders_get_404_everywhere(client, charlie, data):
    client.force_login(charlie)
    assert client.get(url(data)).status_code == 404
    assert client.get(url(data, "check_tag=1&result_tag_name=x")).status_code == 404
    assert client.post(url(data), start_form()).status_code == 404
    assert not SelectionRun.objects.exists()


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_candidates_are_the_browser_filter(client, request, who, data):
    client.force_login(request.getfixturevalue(who))
    response = client.get(url(data, "tag=query"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert '<strong id="candidate-count">3</strong> candidates' in html
    assert '<span id="candidate-detail">(0 masked, 0 pre-selected)</span>' in html
    assert "in tag query" in html
    assert f'action="{url(data, "tag=query")}"' in html
    assert 'value="selection-1"' in html  # a free tag name is suggested


def test_htmx_requests_get_the_form_fragment(client, alice, data):
    client.force_login(alice)
    html = client.post(url(data), start_form(action="add"), **HX).content.decode()
    assert "<html" not in html and html.lstrip().startswith('<form id="selection-form"')
    assert 'name="rows" value="3"' in html


def test_a_bad_filter_is_a_sentence_and_disables_start(client, alice, data):
    client.force_login(alice)
    html = client.get(url(data, "tag=nope")).content.decode()
    assert "No tag named &#x27;nope&#x27;" in html
    assert 'id="start-selection" disabled' in html


def test_the_tag_name_is_checked_live(client, alice, data):
    client.force_login(alice)
    taken = client.get(url(data, "check_tag=1&result_tag_name=query"), **HX).content.decode()
    assert "taken" in taken and "<form" not in taken and 'id="tag-status"' in taken
    free = client.get(url(data, "check_tag=1&result_tag_name=fresh"), **HX).content.decode()
    assert "available" in free


def test_start_creates_a_run_and_redirects_to_it(client, bob, data):
    client.force_login(bob)
    response = client.post(url(data, "min:lightly.sharpness=0"), start_form(mask_tag="query"))
    run = SelectionRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "run-detail", args=[run.pk]
    )
    assert run.dataset == data and run.created_by == bob
    assert run.result_tag_name == "picked" and run.status == "queued"
    assert run.candidate_filter == {"min:lightly.sharpness": ["0"]}
    assert run.options["mask_tag"] == "query" and run.options["preselected_tag"] is None
    assert run.candidate_count == 37 and run.options["counts"] == {"masked": 3, "preselected": 0}
    assert run.config == {
        "n_samples": 5,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            {
                "input": {"type": "SCORES", "task": "clf", "score": "uncertainty_entropy"},
                "strategy": {"type": "WEIGHTS", "strength": 2},  # as the Worker docs write it
            },
        ],
    }
    assert run.preset is None


def test_htmx_start_redirects_the_client(client, alice, data):
    client.force_login(alice)
    response = client.post(
        url(data), start_form(**{"count_mode": "proportion", "percent": "10"}), **HX
    )
    run = SelectionRun.objects.get()
    assert response["HX-Redirect"] == reverse("run-detail", args=[run.pk])
    assert run.config["proportion_samples"] == 0.1


def test_a_taken_tag_name_is_reported_next_to_the_field(client, alice, data):
    client.force_login(alice)
    html = client.post(url(data), start_form(result_tag_name="query"), **HX).content.decode()
    assert "already exists" in html
    assert not SelectionRun.objects.exists()


def test_invalid_rows_do_not_start(client, alice, data):
    client.force_login(alice)
    form = start_form(
        **{
            "s1-strategy": "THRESHOLD",
            "s1-input": "METADATA",
            "s1-metadata_key": "lightly.sharpness",
        }
    )
    html = client.post(url(data), form, **HX).content.decode()
    assert "Fix the errors in the strategies first." in html
    assert "threshold is required" in html
    assert not SelectionRun.objects.exists()


def test_missing_inputs_are_reported_by_the_run_service(client, alice, data):
    client.force_login(alice)
    form = start_form(**{"s1-input": "METADATA", "s1-metadata_key": "no.such.key", "s1-score": ""})
    html = client.post(url(data), form, **HX).content.decode()
    assert "no.such.key" in html
    assert not SelectionRun.objects.exists()


@pytest.fixture
def preset(alice):
    return preset_create(owner=alice, name="five diverse", config=DIVERSITY, visibility="team")


def test_a_preset_fills_the_builder(client, bob, data, preset):
    client.force_login(bob)
    html = client.get(url(data) + f"?preset={preset.pk}").content.decode()
    assert f'<option value="{preset.pk}" selected>five diverse (alice)' in html
    assert 'name="rows" value="1"' in html and 'value="5"' in html
    # choosing another preset in the select reloads the rows (with htmx on change)
    form = start_form(action="", preset=str(preset.pk), loaded_preset="")
    html = client.post(url(data), form, **HX).content.decode()
    assert 'name="rows" value="1"' in html
    assert f'name="loaded_preset" value="{preset.pk}"' in html


def test_starting_from_a_preset_links_it_and_marks_it_used(client, bob, data, preset):
    client.force_login(bob)
    form = start_form(rows="1", preset=str(preset.pk), loaded_preset=str(preset.pk))
    client.post(url(data), form)
    run = SelectionRun.objects.get()
    assert run.preset == preset
    preset.refresh_from_db()
    assert preset.last_used_by == bob and preset.last_used_at is not None


def test_a_changed_preset_config_runs_as_custom(client, bob, data, preset):
    client.force_login(bob)
    client.post(url(data), start_form(preset=str(preset.pk), loaded_preset=str(preset.pk)))
    assert SelectionRun.objects.get().preset is None
    assert not Tag.objects.filter(name="picked").exists()  # queued, nothing written yet
