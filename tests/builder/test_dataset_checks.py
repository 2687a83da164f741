"""The builder on a dataset reports, before any run, what its rows name that the dataset lacks
(embedding space, query tag, score, metadata key, prediction task, BALANCE class), and shows a
pasted invalid value as it is next to its error instead of falling back to another option."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.urls import reverse

from curation.models import Sample, SelectionRun
from curation.presets.services import preset_create
from tests.support.selection_pages import populate

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def data(dataset):
    populate(dataset)
    return dataset


def paste(client, dataset, *strategies, url_name="builder"):
    config = {"n_samples": 5, "strategies": list(strategies)}
    form = {
        "action": "load_json",
        "config_json": json.dumps(config),
        "rows": "1",
        "count_mode": "n",
        "n_samples": "20",
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "s0-strength": "1.0",
    }
    response = client.post(reverse(url_name, args=[dataset.pk]), form, **HX)
    assert response.status_code == 200
    return html_lib.unescape(response.content.decode())


def selected(html: str, field: str) -> list[str]:
    """The selected option values of the select ``s0-<field>``."""
    select = re.search(rf'<select name="s0-{field}".*?</select>', html, re.S)
    assert select, field
    return re.findall(r'<option value="([^"]*)"[^>]*selected', select[0])


def row_errors(html: str) -> list[str]:
    return re.findall(r'<p class="field-error"[^>]*>([^<]+)</p>', html)


EMB = {"type": "EMBEDDINGS"}


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (
            {
                "input": {"type": "EMBEDDINGS", "embedding": "nope"},
                "strategy": {"type": "DIVERSITY"},
            },
            "dataset 'cats' has no embedding space 'nope' (known: default)",
        ),
        (
            {
                "input": {"type": "SCORES", "task": "clf", "score": "nope"},
                "strategy": {"type": "WEIGHTS"},
            },
            "dataset 'cats' has no score 'nope' for task 'clf' (known: clf/uncertainty_entropy)",
        ),
        (
            {"input": {"type": "METADATA", "key": "no.such.key"}, "strategy": {"type": "WEIGHTS"}},
            "no sample of dataset 'cats' has the metadata key 'no.such.key'",
        ),
        (
            {
                "input": {"type": "PREDICTIONS", "task": "nope", "name": "CLASS_DISTRIBUTION"},
                "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
            },
            "dataset 'cats' has no prediction task 'nope' (known: clf, ground_truth)",
        ),
        (
            {
                "input": {"type": "PREDICTIONS", "task": "clf", "name": "CLASS_DISTRIBUTION"},
                "strategy": {"type": "BALANCE", "target": {"zebra": 0.5}},
            },
            "class 'zebra' is not a class of task 'clf'",
        ),
        (
            {
                "input": {"type": "METADATA", "key": "weather.description"},
                "strategy": {"type": "BALANCE", "target": {"snowy": 0.5}},
            },
            "no sample of dataset 'cats' has weather.description = 'snowy'",
        ),
        (
            {
                "input": {"type": "EMBEDDINGS", "tag_name": "nope"},
                "strategy": {"type": "SIMILARITY"},
            },
            "dataset 'cats' has no tag 'nope'",
        ),
    ],
)
@pytest.mark.parametrize("who", ["alice", "bob"])
def test_names_the_dataset_lacks_are_errors_before_a_run(
    client, request, data, who, strategy, message
):
    client.force_login(request.getfixturevalue(who))
    html = paste(client, data, strategy)
    assert any(e.startswith(message) for e in row_errors(html)), row_errors(html)
    assert "The config has errors" in html


def test_the_selection_dialog_refuses_to_start_with_them(client, bob, data):
    client.force_login(bob)
    form = {
        "action": "start",
        "rows": "1",
        "count_mode": "n",
        "n_samples": "5",
        "s0-strategy": "WEIGHTS",
        "s0-input": "METADATA",
        "s0-metadata_key": "no.such.key",
        "s0-strength": "1.0",
        "result_tag_name": "picked",
        "mask_tag": "",
        "preselected_tag": "",
        "preset": "",
        "loaded_preset": "",
    }
    response = client.post(reverse("selection-dialog", args=[data.pk]), form, **HX)
    text = html_lib.unescape(response.content.decode())
    assert "no sample of dataset 'cats' has the metadata key 'no.such.key'" in text
    assert not SelectionRun.objects.exists()


def test_known_names_are_not_errors(client, alice, data):
    client.force_login(alice)
    html = paste(
        client,
        data,
        {
            "input": {"type": "EMBEDDINGS", "embedding": "default"},
            "strategy": {"type": "DIVERSITY"},
        },
        {
            "input": {"type": "METADATA", "key": "lightly.sharpness"},
            "strategy": {"type": "WEIGHTS"},
        },
        {
            "input": {"type": "PREDICTIONS", "task": "clf", "name": "CLASS_DISTRIBUTION"},
            "strategy": {"type": "BALANCE", "target": {"cat": 0.5}},
        },
    )
    assert row_errors(html) == [] and "Valid config" in html


def test_a_key_beyond_the_scanned_rows_is_looked_up(client, alice, data, monkeypatch):
    monkeypatch.setattr("curation.builder.choices.METADATA_SCAN", 1)
    last = Sample.objects.filter(dataset=data).order_by("-pk").first()
    last.metadata = {**last.metadata, "rare.key": 3.0}
    last.save(update_fields=["metadata"])
    client.force_login(alice)
    html = paste(
        client,
        data,
        {"input": {"type": "METADATA", "key": "rare.key"}, "strategy": {"type": "WEIGHTS"}},
    )
    assert row_errors(html) == []


def test_a_preset_edited_without_a_dataset_is_not_checked(client, alice):
    config = {
        "n_samples": 5,
        "strategies": [
            {"input": {"type": "METADATA", "key": "anything"}, "strategy": {"type": "WEIGHTS"}}
        ],
    }
    preset = preset_create(owner=alice, name="p", config=config)
    client.force_login(alice)
    html = client.get(reverse("preset-edit", args=[preset.pk])).content.decode()
    assert row_errors(html) == []


@pytest.mark.parametrize(
    ("strategy", "field", "value"),
    [
        ({"input": EMB, "strategy": {"type": "DIVERSITYY"}}, "strategy", "DIVERSITYY"),
        (
            {"input": {"type": "EMBEDDINGSS"}, "strategy": {"type": "DIVERSITY"}},
            "input",
            "EMBEDDINGSS",
        ),
        (
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "THRESHOLD", "threshold": 3, "operation": "BIGGERR"},
            },
            "operation",
            "BIGGERR",
        ),
        (
            {
                "input": {"type": "PREDICTIONS", "task": "clf", "name": "CLASS_DISTRIBUTION"},
                "strategy": {"type": "BALANCE", "distribution": "UNIFORMM"},
            },
            "distribution",
            "UNIFORMM",
        ),
        (
            {
                "input": {"type": "PREDICTIONS", "task": "clf", "name": "CLASS_DISTRIBUTIONN"},
                "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
            },
            "pred_name",
            "CLASS_DISTRIBUTIONN",
        ),
    ],
)
def test_a_pasted_invalid_value_is_shown_as_it_is_with_its_error(
    client, alice, data, strategy, field, value
):
    client.force_login(alice)
    html = paste(client, data, strategy)
    assert selected(html, field) == [value]  # never silently another option
    assert any(value in e or "must be one of" in e for e in row_errors(html)), row_errors(html)
