"""Properties of the selection config parser (``curation.selection.parse_config``).

- Every generated valid LightlyOne config parses; it reads back the same through JSON text
  (``config_from_text``, pretty-printed or not) and through the docs' form
  (``config_worker_form``, which is idempotent). The parser keeps no serialiser of its own
  (``SelectionConfig`` has no ``to_dict``), so these are the round trips there are.
- After random mutations of a valid config (a value replaced, a field removed or added, a list
  entry appended) the parser either accepts it or raises ``ConfigError``, never anything else;
  the error's JSON path points at a location that exists in the input (or names the missing
  field of an existing object) and its message is one sentence, ``"<path>: <detail>"``.

Generated object keys avoid ``.``, ``[`` and ``]`` so that an error path names one location.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from curation.formats.config_text import config_from_text, config_worker_form
from curation.selection import ConfigError, SelectionConfig, parse_config
from curation.selection.config import (
    ACCEPTED_INPUTS,
    DISTRIBUTIONS,
    INPUT_TYPES,
    OPERATIONS,
    PREDICTION_NAMES,
    STRATEGY_TYPES,
)

VOCABULARY = (*INPUT_TYPES, *STRATEGY_TYPES, *OPERATIONS, *DISTRIBUTIONS, *PREDICTION_NAMES)

names = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters=".[]"),
    min_size=1,
    max_size=8,
)
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.integers(-1000, 1000)
non_negative = st.floats(min_value=0, max_value=1e6) | st.integers(0, 1000)

# Any JSON value, with the awkward ones (huge and non-finite numbers, booleans, vocabulary).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, -1, 10**400, -(10**400)])
    | st.floats()
    | names
    | st.sampled_from(VOCABULARY),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(names, children, max_size=3),
    max_leaves=6,
)


# ----------------------------------------------------------------------------- valid configs


@st.composite
def inputs(draw, stype: str) -> dict[str, Any]:
    itype = draw(st.sampled_from(ACCEPTED_INPUTS[stype]))
    out: dict[str, Any] = {"type": itype}
    if itype == "EMBEDDINGS":
        if draw(st.booleans()):
            out["embedding"] = draw(names)
        if stype == "SIMILARITY":
            out["tag_name"] = draw(names)
            choice = draw(st.sampled_from(["none", "dataset", "dataset_id"]))
            if choice != "none":
                out[choice] = draw(st.integers(1, 10**6) | names.filter(str.strip))
    elif itype == "SCORES":
        out.update(task=draw(names), score=draw(names))
    elif itype == "METADATA":
        out["key"] = draw(names)
    elif itype == "PREDICTIONS":
        out.update(task=draw(names), name=draw(st.sampled_from(PREDICTION_NAMES)))
    elif draw(st.booleans()):
        out["random_seed"] = draw(st.none() | st.integers(0, 2**31))
    return out


@st.composite
def entries(draw) -> dict[str, Any]:
    stype = draw(st.sampled_from(STRATEGY_TYPES))
    strategy: dict[str, Any] = {"type": stype}
    if stype == "DIVERSITY" and draw(st.booleans()):
        strategy["stopping_condition_minimum_distance"] = draw(st.none() | non_negative)
    if stype == "TYPICALITY" and draw(st.booleans()):
        strategy["num_nearest_neighbors"] = draw(st.integers(1, 100))
    if stype == "THRESHOLD":
        strategy["threshold"] = draw(numbers)
        strategy["operation"] = draw(st.sampled_from(OPERATIONS))
    if stype == "BALANCE":
        distribution = draw(st.sampled_from((None, *DISTRIBUTIONS)))
        if distribution is not None:
            strategy["distribution"] = distribution
        if distribution in (None, "TARGET"):
            target = draw(st.dictionaries(names, non_negative, min_size=1, max_size=4))
            if not sum(target.values()) > 0:
                target[next(iter(target))] = 1
            strategy["target"] = target
    entry: dict[str, Any] = {"input": draw(inputs(stype)), "strategy": strategy}
    if stype != "THRESHOLD":
        where = draw(st.sampled_from(["none", "entry", "strategy"]))
        if where == "entry":
            entry["strength"] = draw(numbers)
        elif where == "strategy":
            strategy["strength"] = draw(numbers)
    return entry


@st.composite
def configs(draw) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if draw(st.booleans()):
        config["n_samples"] = draw(st.integers(1, 10**6))
        if draw(st.booleans()):
            config["proportion_samples"] = None
    else:
        config["proportion_samples"] = draw(
            st.floats(min_value=0, max_value=1, exclude_min=True) | st.just(1)
        )
    config["strategies"] = draw(st.lists(entries(), min_size=1, max_size=4))
    return config


# ----------------------------------------------------------------------------- mutations


def _locations(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every (key or index) trail below ``value``, the root's ``()`` included."""
    found = [trail]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _locations(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _locations(item, (*trail, index))
    return found


def _at(root: Any, trail: tuple[Any, ...]) -> Any:
    for step in trail:
        root = root[step]
    return root


@st.composite
def mutated(draw) -> dict[str, Any] | Any:
    config = copy.deepcopy(draw(configs()))
    for _ in range(draw(st.integers(1, 3))):
        locations = _locations(config)
        trail = draw(st.sampled_from(locations))
        kind = draw(st.sampled_from(["replace", "remove", "add"]))
        if not trail:
            if kind == "replace":
                config = draw(json_values)
            continue
        parent, step = _at(config, trail[:-1]), trail[-1]
        if kind == "replace":
            parent[step] = draw(json_values)
        elif kind == "remove":
            del parent[step]
        else:
            target = parent[step]
            if isinstance(target, dict):
                target[draw(names)] = draw(json_values)
            elif isinstance(target, list):
                target.append(draw(json_values | entries()))
            else:
                parent[step] = [target]
    return config


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path_steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for key, index in _STEP.findall(path):
        steps.append(int(index) if index else key)
    assert _path_of(tuple(steps)) == path
    return steps


def _location_exists(config: Any, error: ConfigError) -> bool:
    """The error's path names a value of ``config``, or a missing field of an object in it."""
    node = config
    steps = _path_steps(error.path)
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return False
        elif not isinstance(node, dict):
            return False
        elif step not in node:
            return last  # a missing field of an existing object (``operation`` left out)
        node = node[step]
    return True


# ----------------------------------------------------------------------------- properties


@given(configs())
def test_valid_configs_parse_and_are_left_as_they_were(config) -> None:
    before = copy.deepcopy(config)
    parsed = parse_config(config)
    assert isinstance(parsed, SelectionConfig)
    assert config == before
    assert len(parsed.strategies) == len(config["strategies"])
    assert parsed.n_for(10) >= 1
    parsed.requirements()


@given(configs(), st.sampled_from([None, 2]))
def test_valid_configs_round_trip_through_json_text(config, indent) -> None:
    text = json.dumps(config, indent=indent)
    assert config_from_text(text) == config
    assert parse_config(config_from_text(text)) == parse_config(config)


@given(configs())
def test_valid_configs_round_trip_through_the_worker_form(config) -> None:
    worker_form = config_worker_form(config)
    assert config_worker_form(worker_form) == worker_form
    assert parse_config(worker_form) == parse_config(config)
    assert all("strength" not in entry for entry in worker_form["strategies"])


NUMBER_FIELDS = ("strength", "threshold", "stopping_condition_minimum_distance")
NOT_A_FINITE_NUMBER = (10**400, -(10**400), float("nan"), float("inf"), True, "1", [1], {})


def _path_of(trail: tuple[Any, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in trail).lstrip(".")


def _number_fields(config: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The trails of the fields ``parse_config`` reads as a finite number."""
    found = []
    for trail in _locations(config):
        if not trail or isinstance(_at(config, trail), bool | type(None)):
            continue
        in_target = len(trail) >= 2 and trail[-2] == "target"
        if trail[-1] in (*NUMBER_FIELDS, "proportion_samples") or in_target:
            found.append(trail)
    return found


@given(configs(), st.data())
def test_a_number_field_given_anything_else_is_refused_at_its_path(config, data) -> None:
    fields = _number_fields(config)
    if not fields:
        config["proportion_samples"] = 0.5
        config.pop("n_samples", None)
        fields = [("proportion_samples",)]
    trail = data.draw(st.sampled_from(fields))
    _at(config, trail[:-1])[trail[-1]] = data.draw(st.sampled_from(NOT_A_FINITE_NUMBER))
    try:
        parse_config(config)
    except ConfigError as error:
        assert error.path == _path_of(trail)
        assert error.detail in ("must be a number", "must be a finite number")
    else:
        raise AssertionError(f"{_path_of(trail)} was accepted")


@given(mutated())
def test_a_mutated_config_is_accepted_or_refused_with_a_path_and_one_sentence(config) -> None:
    try:
        parsed = parse_config(config)
    except ConfigError as error:
        message = str(error)
        assert error.detail and "\n" not in error.detail  # (a key may hold a line break)
        assert message == (f"{error.path}: {error.detail}" if error.path else error.detail)
        assert not re.search(r"[.!?]\s+[A-Z]", error.detail), message  # one sentence
        assert _location_exists(config, error), (error.path, config)
    else:
        assert isinstance(parsed, SelectionConfig)
        assert parsed.n_for(10) >= 1
        parsed.requirements()
