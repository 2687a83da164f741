"""The builder's "Sequence length" field: it writes ``selected_sequence_length`` into the config
only when it is not 1, reads it back from a config (round trip), and shows the parser's
one-sentence errors next to itself (or next to the count for ``n_samples``)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.builder.rows import config_from_state, state_from_config
from curation.builder.validation import validate_state
from curation.models import StrategyPreset
from curation.selection import parse_config
from tests.support.selection_pages import populate

DIV = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}


@pytest.mark.parametrize(
    "config",
    [
        {"n_samples": 12, "selected_sequence_length": 3, "strategies": [DIV]},
        {"proportion_samples": 0.5, "selected_sequence_length": 2, "strategies": [DIV]},
        {"n_samples": 12, "strategies": [DIV]},
    ],
)
def test_a_config_round_trips_through_the_builder(config):
    state = state_from_config(config)
    assert state.sequence_length == str(config.get("selected_sequence_length", 1))
    rebuilt, errors = validate_state(state)
    assert errors == {}
    assert rebuilt == config
    assert parse_config(rebuilt) == parse_config(config)


def test_one_is_not_written():
    state = state_from_config({"n_samples": 4, "selected_sequence_length": 1, "strategies": [DIV]})
    config, errors = config_from_state(state)
    assert errors == {} and "selected_sequence_length" not in config
    state.sequence_length = ""
    assert "selected_sequence_length" not in config_from_state(state)[0]


@pytest.mark.parametrize(
    ("n", "length", "key", "message"),
    [
        ("12", "0", "sequence_length", "selected_sequence_length must be >= 1"),
        ("12", "-2", "sequence_length", "selected_sequence_length must be >= 1"),
        ("12", "two", "sequence_length", "the sequence length must be a whole number"),
        ("10", "4", "count", "n_samples must be a multiple of selected_sequence_length (4)"),
    ],
)
def test_bad_lengths_are_named_at_their_field(n, length, key, message):
    state = state_from_config({"n_samples": 1, "strategies": [DIV]})
    state.n_samples, state.sequence_length = n, length
    _, errors = validate_state(state)
    assert errors[key].startswith(message)


def test_a_non_integer_length_in_a_pasted_config_is_kept_and_named():
    state = state_from_config(
        {"n_samples": 4, "selected_sequence_length": "2", "strategies": [DIV]}
    )
    assert state.sequence_length == "1" and state.extra == {"selected_sequence_length": "2"}
    _, errors = validate_state(state)
    assert errors["sequence_length"] == "selected_sequence_length must be an integer"


# ----------------------------------------------------------------------------- the page


@pytest.fixture
def data(dataset):
    populate(dataset)
    return dataset


def form(**extra):
    values = {
        "rows": "1",
        "count_mode": "n",
        "n_samples": "12",
        "sequence_length": "3",
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "s0-strength": "1.0",
    }
    values.update(extra)
    return values


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_page_writes_the_length_into_the_json_and_keeps_the_field(client, request, data, who):
    client.force_login(request.getfixturevalue(who))
    html = client.post(reverse("builder", args=[data.pk]), form(action="validate")).content
    text = html.decode()
    assert "&quot;selected_sequence_length&quot;: 3" in text
    assert 'name="sequence_length" id="sequence-length" min="1" step="1" value="3"' in text


def test_the_page_shows_a_bad_length_next_to_the_field(client, alice, data):
    client.force_login(alice)
    html = client.post(
        reverse("builder", args=[data.pk]), form(sequence_length="0", action="validate")
    ).content.decode()
    field = html.index('id="sequence-length"')
    error = html.index("selected_sequence_length must be &gt;= 1")
    assert 0 < error - field < 600  # rendered right below the field
    assert "Valid config" not in html


def test_a_saved_preset_keeps_the_length(client, bob, data):
    client.force_login(bob)
    response = client.post(
        reverse("builder", args=[data.pk]),
        form(action="save_preset", preset_name="pairs", preset_visibility="team"),
    )
    assert response.status_code == 302
    assert StrategyPreset.objects.get().config == {
        "n_samples": 12,
        "selected_sequence_length": 3,
        "strategies": [DIV],
    }


def test_outsiders_cannot_use_the_builder(client, charlie, data):
    client.force_login(charlie)
    assert client.post(reverse("builder", args=[data.pk]), form()).status_code == 404
    assert not StrategyPreset.objects.exists()
