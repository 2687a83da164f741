"""Rows <-> LightlyOne Worker config JSON, and errors placed next to the field they name."""

from __future__ import annotations

import json

import pytest

from curation.builder.forms import parse_pasted_json, state_from_form
from curation.builder.rows import BuilderState, Row, config_from_state, state_from_config
from curation.builder.validation import errors_by_row, field_for_path, validate_state
from curation.selection import parse_config

SEED_CONFIGS = [
    {
        "n_samples": 100,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    },
    {
        "n_samples": 100,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}, "strength": 2.5},
            {
                "input": {"type": "EMBEDDINGS"},
                "strategy": {"type": "TYPICALITY", "num_nearest_neighbors": 7},
            },
        ],
    },
    {
        "proportion_samples": 0.25,
        "strategies": [
            {
                "input": {"type": "SCORES", "task": "det", "score": "uncertainty_entropy"},
                "strategy": {"type": "WEIGHTS"},
            },
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "THRESHOLD", "threshold": 20, "operation": "BIGGER"},
            },
        ],
    },
    {
        "n_samples": 10,
        "strategies": [
            {
                "input": {"type": "PREDICTIONS", "task": "pretag", "name": "CLASS_DISTRIBUTION"},
                "strategy": {"type": "BALANCE", "target": {"car": 0.1, "bicycle": 0.5}},
            },
            {
                "input": {"type": "METADATA", "key": "weather.description"},
                "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
                "strength": -1,
            },
            {"input": {"type": "RANDOM", "random_seed": 42}, "strategy": {"type": "WEIGHTS"}},
            {
                "input": {"type": "EMBEDDINGS", "embedding": "clip", "tag_name": "query"},
                "strategy": {"type": "SIMILARITY"},
            },
            {
                "input": {"type": "EMBEDDINGS"},
                "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": 0.2},
            },
        ],
    },
]


def _worker_form(config):
    """``config`` with each entry-level strength moved inside its strategy (seed 004's form)."""
    out = dict(config)
    out["strategies"] = []
    for entry in config["strategies"]:
        entry = dict(entry)
        if "strength" in entry:
            entry["strategy"] = {**entry["strategy"], "strength": entry.pop("strength")}
        out["strategies"].append(entry)
    return out


@pytest.mark.parametrize("config", SEED_CONFIGS)
def test_it_round_trips_worker_configs_through_rows(config):
    state = state_from_config(config)
    rebuilt, errors = validate_state(state)
    assert errors == {}
    assert rebuilt == _worker_form(config)
    assert parse_config(rebuilt) == parse_config(config)


def test_it_accepts_strength_on_the_strategy_as_in_seed_004():
    state = state_from_config(
        {
            "n_samples": 5,
            "strategies": [
                {
                    "input": {"type": "EMBEDDINGS"},
                    "strategy": {"type": "DIVERSITY", "strength": 0.6},
                }
            ],
        }
    )
    assert state.rows[0].strength == "0.6"
    config, errors = validate_state(state)
    assert errors == {}
    assert config["strategies"][0] == {
        "input": {"type": "EMBEDDINGS"},
        "strategy": {"type": "DIVERSITY", "strength": 0.6},
    }


def test_it_keeps_a_given_distribution_and_leaves_out_a_missing_one():
    given = {
        "n_samples": 5,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "weather"},
                "strategy": {"type": "BALANCE", "distribution": "TARGET", "target": {"sun": 1}},
            }
        ],
    }
    config, errors = validate_state(state_from_config(given))
    assert errors == {} and config == given
    del given["strategies"][0]["strategy"]["distribution"]
    config, errors = validate_state(state_from_config(given))
    assert errors == {} and config == given


def _form(**fields):
    data = {"rows": "1", "count_mode": "n", "n_samples": "50"}
    data.update({k.replace("__", "-"): v for k, v in fields.items()})
    return data


def test_it_reads_the_form_and_keeps_only_valid_input_types():
    state = state_from_form(_form(s0__strategy="WEIGHTS", s0__input="EMBEDDINGS"))
    assert state.rows[0].input == "SCORES"  # the first input WEIGHTS accepts
    state = state_from_form(
        _form(s0__strategy="BALANCE", s0__input="METADATA", s0__metadata_key="split")
    )
    assert state.rows[0].input == "METADATA"
    assert state.rows[0].metadata_kind == "string"


def test_it_builds_balance_targets_from_class_fields():
    data = _form(
        s0__strategy="BALANCE",
        s0__input="PREDICTIONS",
        s0__pred_task="clf",
        s0__distribution="TARGET",
    )
    data["s0-target:cat"] = "0.4"
    data["s0-target:dog"] = ""
    data["s0-target_new_class"] = "bird"
    data["s0-target_new_share"] = "0.1"
    config, errors = validate_state(state_from_form(data))
    assert errors == {}
    assert config["strategies"][0]["strategy"] == {
        "type": "BALANCE",
        "target": {"cat": 0.4, "bird": 0.1},
    }


def test_it_places_engine_errors_next_to_the_named_field():
    state = BuilderState(
        rows=[
            Row(),
            Row(
                strategy="THRESHOLD",
                input="METADATA",
                metadata_key="lightly.sharpness",
                threshold="",
            ),
            Row(strategy="SIMILARITY", input="EMBEDDINGS"),
        ]
    )
    _, errors = validate_state(state)
    rows, top = errors_by_row(errors)
    assert top == {}
    assert 0 not in rows
    assert "threshold" in rows[1]["threshold"]
    assert "query set" in rows[2]["tag_name"]


def test_it_reports_typing_mistakes_and_counts():
    state = BuilderState(rows=[Row(strength="lots")], n_samples="ten")
    _, errors = validate_state(state)
    assert errors["0.strength"] == "must be a number"
    assert "whole number" in errors["count"]
    state = BuilderState(rows=[Row()], count_mode="proportion", percent="150")
    _, errors = validate_state(state)
    assert "proportion_samples" in errors["count"]


def test_it_keeps_unknown_fields_so_validation_names_them():
    config = {
        "n_samples": 3,
        "strategies": [
            {"input": {"type": "EMBEDDINGS", "colour": "red"}, "strategy": {"type": "DIVERSITY"}}
        ],
    }
    state = state_from_config(config)
    rebuilt, errors = validate_state(state)
    assert rebuilt == config
    assert "unknown field" in errors["0.input"]


def test_it_maps_json_paths_to_fields():
    assert field_for_path("strategies[1].strategy.operation") == (1, "operation")
    assert field_for_path("strategies[0].strength") == (0, "strength")
    assert field_for_path("strategies[2].input.key") == (2, "metadata_key")
    assert field_for_path("strategies[0].strategy.target.cat") == (0, "target")
    assert field_for_path("n_samples") == (None, "count")
    assert field_for_path("strategies") == (None, "rows")
    assert field_for_path("colour") == (None, "config")


def test_pasted_invalid_json_is_one_sentence_with_line_and_column():
    text = '{\n  "n_samples": 100, # comment\n  "strategies": [] "x"\n}'
    config, message = parse_pasted_json(text)
    assert config is None
    assert message == "The pasted text is not valid JSON: unexpected '\"' at line 3, column 20."
    assert message.count(".") >= 1 and "\n" not in message
    assert parse_pasted_json("[1, 2]")[0] is None
    assert parse_pasted_json(json.dumps(SEED_CONFIGS[0])) == (SEED_CONFIGS[0], "")


def test_an_empty_strategy_list_is_an_error():
    _, errors = validate_state(BuilderState(rows=[]))
    assert "rows" in errors


def test_default_strength_is_left_out_of_the_json():
    config, _ = config_from_state(BuilderState(rows=[Row(strength="1")]))
    assert "strength" not in config["strategies"][0]
