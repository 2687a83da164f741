"""Property tests of the builder's state: config -> rows -> form data -> formset -> config.

Every config the engine accepts, written in the Worker's spelling (strength inside the
strategy, the default 1.0 left out), survives the round trip through the HTML form unchanged;
arbitrary row data never crashes the builder and either makes a valid config or errors that
name a row (shown in that row's form) or the count.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from curation.builder.editor import BuilderForm
from curation.builder.forms import ROW_FIELDS, state_data, state_from_form
from curation.builder.rows import config_from_state, state_from_config
from curation.builder.validation import validate_state
from curation.selection import ConfigError, parse_config

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.-0123456789", min_size=1, max_size=12)
DECIMALS = st.integers(min_value=1, max_value=999).map(
    lambda i: i // 100 if i % 100 == 0 else i / 100
)
STRENGTHS = st.sampled_from([None, 2, 0.5, -1, 3.25])


def _with_strength(strategy: dict[str, Any], strength: Any) -> dict[str, Any]:
    return strategy if strength is None else {**strategy, "strength": strength}


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["DIVERSITY", "TYPICALITY", "SIMILARITY", "WEIGHTS", "THRESHOLD", "BALANCE"]
        )
    )
    strength = draw(STRENGTHS)
    if kind in ("DIVERSITY", "TYPICALITY", "SIMILARITY"):
        inp: dict[str, Any] = {"type": "EMBEDDINGS"}
        if draw(st.booleans()):
            inp["embedding"] = draw(NAMES)
        strategy: dict[str, Any] = {"type": kind}
        if kind == "SIMILARITY":
            inp["tag_name"] = draw(NAMES)
        elif kind == "DIVERSITY" and draw(st.booleans()):
            strategy["stopping_condition_minimum_distance"] = draw(DECIMALS)
        elif kind == "TYPICALITY" and draw(st.booleans()):
            strategy["num_nearest_neighbors"] = draw(st.integers(1, 500))
        return {"input": inp, "strategy": _with_strength(strategy, strength)}
    if kind in ("WEIGHTS", "THRESHOLD"):
        source = draw(st.sampled_from(["SCORES", "METADATA"] + (["RANDOM"] * (kind == "WEIGHTS"))))
        if source == "SCORES":
            inp = {"type": "SCORES", "task": draw(NAMES), "score": draw(NAMES)}
        elif source == "METADATA":
            inp = {"type": "METADATA", "key": draw(NAMES)}
        else:
            inp = {"type": "RANDOM"}
            if draw(st.booleans()):
                inp["random_seed"] = draw(st.integers(0, 2**31))
        if kind == "WEIGHTS":
            return {"input": inp, "strategy": _with_strength({"type": "WEIGHTS"}, strength)}
        operation = draw(st.sampled_from(["SMALLER", "SMALLER_EQUAL", "BIGGER", "BIGGER_EQUAL"]))
        threshold = draw(st.one_of(st.integers(-1000, 1000), DECIMALS))
        strategy = {"type": "THRESHOLD", "threshold": threshold, "operation": operation}
        return {"input": inp, "strategy": strategy}
    if draw(st.booleans()):
        inp = {"type": "PREDICTIONS", "task": draw(NAMES), "name": "CLASS_DISTRIBUTION"}
    else:
        inp = {"type": "METADATA", "key": draw(NAMES)}
    distribution = draw(st.sampled_from([None, "TARGET", "UNIFORM", "INPUT"]))
    strategy = {"type": "BALANCE"}
    if distribution is not None:
        strategy["distribution"] = distribution
    if distribution in (None, "TARGET"):
        shares = draw(st.dictionaries(NAMES, st.integers(1, 30), min_size=1, max_size=3))
        strategy["target"] = {name: share / 100 for name, share in shares.items()}
    return {"input": inp, "strategy": _with_strength(strategy, strength)}


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if draw(st.booleans()):
        config["n_samples"] = draw(st.integers(1, 10**9))
    else:
        config["proportion_samples"] = draw(st.integers(1, 100)) / 100
    config["strategies"] = draw(st.lists(entries(), min_size=1, max_size=4))
    return config


def _through_the_form(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    data = state_data(state_from_config(config))
    return config_from_state(state_from_form(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_valid_configs_survive_the_form_unchanged(config):
    try:
        parse_config(config)
    except ConfigError:
        assume(False)
    rebuilt, typing_errors = _through_the_form(config)
    assert typing_errors == {}
    assert rebuilt == config
    _, errors = validate_state(state_from_config(config))
    assert errors == {}


ROW_TEXT = st.one_of(
    st.sampled_from(["", "1", "0", "-3", "2.5", "abc", "1e400", "nan", "[1, 2]", "{}"]),
    st.text(max_size=8),
)
ROW_VALUES = {
    "strategy": st.sampled_from(
        ["DIVERSITY", "TYPICALITY", "SIMILARITY", "WEIGHTS", "THRESHOLD", "BALANCE", "X", ""]
    ),
    "input": st.sampled_from(["EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS", "RANDOM", ""]),
}


@st.composite
def form_data(draw: st.DrawFn) -> dict[str, str]:
    rows = draw(st.integers(0, 3))
    data = {
        "rows": str(rows),
        "count_mode": draw(st.sampled_from(["n", "proportion", "junk"])),
        "n_samples": draw(ROW_TEXT),
        "percent": draw(ROW_TEXT),
    }
    for i in range(rows):
        for name in ROW_FIELDS:
            if draw(st.booleans()):
                data[f"s{i}-{name}"] = draw(ROW_VALUES.get(name, ROW_TEXT))
        if draw(st.booleans()):
            data[f"s{i}-target:{draw(NAMES)}"] = draw(ROW_TEXT)
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form_data())
def test_any_row_data_is_a_valid_config_or_errors_naming_the_row(data):
    state = state_from_form(data)
    config, errors = validate_state(state)
    form = BuilderForm(state=state, config=config, errors=dict(errors))
    if not errors:
        parse_config(config)  # accepted by the engine as it is
        return
    for key, message in errors.items():
        assert message.strip()
        head, _, name = key.partition(".")
        if name:
            index = int(head)
            assert 0 <= index < len(state.rows)
            shown = [str(e) for errs in form.formset.forms[index].errors.values() for e in errs]
            assert message in shown, (key, shown)
        else:
            assert key in ("count", "rows", "config")
            shown = [str(e) for errs in form.form.errors.values() for e in errs]
            assert message in shown, (key, shown)


@pytest.mark.parametrize("rows", ["0", "1", "3"])
def test_the_form_data_of_a_state_reads_back_the_same_state(rows):
    config = {
        "n_samples": 5,
        "strategies": [{"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS"}}] * int(rows),
    }
    state = state_from_config(config)
    assert state_from_form(state_data(state)) == state
