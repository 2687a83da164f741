"""The builder's Django forms: rows as a formset named ``s<i>-<field>`` counted by ``rows``,
errors added to the row and field they name, and nothing typed lost."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.builder.choices import BuilderChoices
from curation.builder.editor import builder_form
from curation.builder.forms import row_formset
from curation.models import StrategyPreset
from tests.support.selection_pages import populate


def test_the_formset_reads_rows_named_like_the_page():
    data = {"rows": "2", "s0-strategy": "WEIGHTS", "s1-strategy": "BALANCE", "s1-target:cat": "1"}
    formset = row_formset(data)
    assert [form.prefix for form in formset.forms] == ["s0", "s1"]
    rows = formset.rows()
    assert rows[0].strategy == "WEIGHTS" and rows[1].target == [("cat", "1")]


def test_an_unreadable_row_count_is_one_row_and_a_huge_one_is_capped():
    assert len(row_formset({"rows": "abc"}).forms) == 1
    assert len(row_formset({"rows": "100000"}).forms) == 50


def test_errors_go_to_the_row_form_and_keep_the_typed_text():
    data = {
        "rows": "2",
        "n_samples": "ten",
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "s1-strategy": "THRESHOLD",
        "s1-input": "METADATA",
        "s1-metadata_key": "k",
        "s1-threshold": "high",
    }
    form = builder_form(data, BuilderChoices(from_dataset=False))
    assert not form.valid
    assert form.formset.forms[0].errors == {}
    assert form.formset.forms[1].errors["threshold"] == ["must be a number"]
    assert form.formset.forms[1]["threshold"].value() == "high"
    assert "whole number" in form.form.errors["n_samples"][0]
    assert form.form["n_samples"].value() == "ten"


@pytest.fixture
def data(dataset):
    populate(dataset)
    return dataset


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_a_refused_preset_name_is_shown_and_nothing_is_saved(client, request, who, data):
    client.force_login(request.getfixturevalue(who))
    form = {
        "rows": "1",
        "count_mode": "n",
        "n_samples": "20",
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "action": "save_preset",
        "preset_name": "",
        "preset_description": "kept as typed",
    }
    response = client.post(reverse("builder", args=[data.pk]), form)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="kept as typed"' in html
    assert html.count('class="field-error"') >= 1
    assert not StrategyPreset.objects.exists()


def test_outsiders_cannot_save_presets_from_the_builder(client, charlie, data):
    client.force_login(charlie)
    form = {"rows": "1", "action": "save_preset", "preset_name": "x"}
    assert client.post(reverse("builder", args=[data.pk]), form).status_code == 404
    assert not StrategyPreset.objects.exists()
