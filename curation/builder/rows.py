"""Pure helpers between LightlyOne Worker selection configs and the strategy builder's rows.

A :class:`Row` is one strategy as the user typed it, every field kept as text so a row re-renders
unchanged with its errors; :class:`BuilderState` is the whole builder (rows + sample count).
:func:`config_from_state` turns the rows into the config JSON (typing mistakes, such as a word
where a number belongs, are reported per ``"<row>.<field>"``) and :func:`state_from_config` does
the reverse for presets and pasted JSON, keeping fields the rows cannot show as ``extra`` so
validation (``curation.builder.validation``) still names them. Invariant: for every config the
engine accepts, ``config_from_state(state_from_config(c))`` equals ``c`` in the Worker's
spelling (strength inside the strategy, the default strength 1.0 left out).
No Django import here; the HTML form side is ``curation.builder.forms``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from curation.selection.config import ACCEPTED_INPUTS, DISTRIBUTIONS, OPERATIONS, PREDICTION_NAMES

INPUTS: tuple[str, ...] = ("EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS", "RANDOM")
DEFAULT_NEIGHBORS = 20


@dataclass
class Row:
    """One strategy row as the user typed it (all texts, so it re-renders unchanged)."""

    strategy: str = "DIVERSITY"
    input: str = "EMBEDDINGS"
    embedding: str = ""
    tag_name: str = ""
    min_distance: str = ""
    num_nearest_neighbors: str = ""
    score_task: str = ""
    score_name: str = ""
    metadata_key: str = ""
    pred_task: str = ""
    pred_name: str = "CLASS_DISTRIBUTION"
    random_seed: str = ""
    threshold: str = ""
    operation: str = "BIGGER"
    distribution: str = "TARGET"
    distribution_given: bool = False  # written to the config (TARGET is the default)
    target: list[tuple[str, str]] = field(default_factory=list)
    strength: str = "1.0"
    extra_input: dict[str, Any] = field(default_factory=dict)
    extra_strategy: dict[str, Any] = field(default_factory=dict)

    # ---- what the row shows -------------------------------------------------------------
    @property
    def allowed_inputs(self) -> tuple[str, ...]:
        return ACCEPTED_INPUTS.get(self.strategy, INPUTS)

    @property
    def has_strength(self) -> bool:
        return self.strategy != "THRESHOLD"

    @property
    def score_value(self) -> str:
        """The score select's option value: a JSON pair ``["task", "score"]``."""
        if not self.score_task and not self.score_name:
            return ""
        return score_option(self.score_task, self.score_name)

    @property
    def metadata_kind(self) -> str:
        """Which metadata keys fit: ``string`` for BALANCE, ``numeric`` otherwise."""
        return "string" if self.strategy == "BALANCE" else "numeric"

    @property
    def target_dict(self) -> dict[str, str]:
        return dict(self.target)

    def normalized(self) -> Row:
        """The same row with an input type its strategy accepts (the first one otherwise)."""
        row = replace(self, target=list(self.target))
        if row.strategy in ACCEPTED_INPUTS and row.input not in row.allowed_inputs:
            row.input = row.allowed_inputs[0]
        if row.operation not in OPERATIONS:
            row.operation = "BIGGER"
        if row.distribution not in DISTRIBUTIONS:
            row.distribution = "TARGET"
        if row.pred_name not in PREDICTION_NAMES:
            row.pred_name = "CLASS_DISTRIBUTION"
        return row


@dataclass
class BuilderState:
    """The whole builder form: the rows and how many samples to select."""

    rows: list[Row] = field(default_factory=lambda: [Row()])
    count_mode: str = "n"  # "n" or "proportion"
    n_samples: str = "100"
    percent: str = "10"
    sequence_length: str = "1"  # ``selected_sequence_length``; written only when not 1
    extra: dict[str, Any] = field(default_factory=dict)


def score_option(task: str, score: str) -> str:
    return json.dumps([task, score])


# --------------------------------------------------------------------------- state -> config


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        value = _number(text)
        return int(value) if value is not None and value.is_integer() else None


def _compact(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def row_entry(row: Row, index: int, errors: dict[str, str]) -> dict[str, Any]:
    """The config entry ``{"input": …, "strategy": {…, "strength": …}}`` of one row, in the
    form the LightlyOne Worker docs write (seed 004: strength inside the strategy; a given
    ``distribution`` kept); typing mistakes (a word where a number belongs) go to ``errors``
    under ``"<index>.<field>"``."""
    e = f"{index}."
    inp: dict[str, Any] = {"type": row.input}
    strat: dict[str, Any] = {"type": row.strategy}
    if row.input == "EMBEDDINGS":
        if row.embedding:
            inp["embedding"] = row.embedding
        if row.tag_name:
            inp["tag_name"] = row.tag_name
    elif row.input == "SCORES":
        if row.score_task:
            inp["task"] = row.score_task
        if row.score_name:
            inp["score"] = row.score_name
    elif row.input == "METADATA":
        if row.metadata_key:
            inp["key"] = row.metadata_key
    elif row.input == "PREDICTIONS":
        if row.pred_task:
            inp["task"] = row.pred_task
        inp["name"] = row.pred_name
    elif row.input == "RANDOM" and row.random_seed:
        seed = _integer(row.random_seed)
        if seed is None:
            errors[e + "random_seed"] = "must be a whole number"
        else:
            inp["random_seed"] = seed
    inp.update(row.extra_input)

    if row.strategy == "DIVERSITY" and row.min_distance:
        value = _number(row.min_distance)
        if value is None:
            errors[e + "min_distance"] = "must be a number"
        else:
            strat["stopping_condition_minimum_distance"] = _compact(value)
    elif row.strategy == "TYPICALITY" and row.num_nearest_neighbors:
        k = _integer(row.num_nearest_neighbors)
        if k is None:
            errors[e + "num_nearest_neighbors"] = "must be a whole number"
        else:
            strat["num_nearest_neighbors"] = k
    elif row.strategy == "THRESHOLD":
        value = _number(row.threshold) if row.threshold else None
        if row.threshold and value is None:
            errors[e + "threshold"] = "must be a number"
        elif value is not None:
            strat["threshold"] = _compact(value)
        strat["operation"] = row.operation
    elif row.strategy == "BALANCE":
        if row.distribution != "TARGET" or row.distribution_given:  # kept when given
            strat["distribution"] = row.distribution
        if row.distribution == "TARGET":
            target: dict[str, Any] = {}
            for name, share in row.target:
                if not share:
                    continue
                value = _number(share)
                if value is None:
                    errors[e + "target"] = f"the share of {name!r} must be a number"
                else:
                    target[name] = _compact(value)
            if target:
                strat["target"] = target
    strat.update(row.extra_strategy)
    if row.has_strength and row.strength:  # inside ``strategy``, as the Worker docs write it
        strength = _number(row.strength)
        if strength is None:
            errors[e + "strength"] = "must be a number"
        elif strength != 1.0:
            strat["strength"] = _compact(strength)
    return {"input": inp, "strategy": strat}


def config_from_state(state: BuilderState) -> tuple[dict[str, Any], dict[str, str]]:
    """The config JSON of the form and the typing errors found on the way."""
    errors: dict[str, str] = {}
    config: dict[str, Any] = {}
    if state.count_mode == "proportion":
        percent = _number(state.percent)
        if percent is None:
            errors["count"] = "the percentage must be a number"
        else:
            config["proportion_samples"] = round(percent / 100.0, 10)
    else:
        n = _integer(state.n_samples)
        if n is None:
            errors["count"] = "the number of samples must be a whole number"
        else:
            config["n_samples"] = n
    if state.sequence_length.strip() not in ("", "1"):
        length = _integer(state.sequence_length)
        if length is None:
            errors["sequence_length"] = "the sequence length must be a whole number"
        else:  # 0 or less too: validation names it
            config["selected_sequence_length"] = length
    config["strategies"] = [row_entry(row, i, errors) for i, row in enumerate(state.rows)]
    config.update(state.extra)
    return config, errors


# --------------------------------------------------------------------------- config -> state


def state_from_config(config: Mapping[str, Any]) -> BuilderState:
    """Rows for a (possibly invalid) config dict; fields the rows cannot show are kept as
    ``extra`` so that validation still reports them."""
    state = BuilderState(rows=[])
    rest = dict(config)
    if rest.get("proportion_samples") is not None:
        state.count_mode = "proportion"
        state.percent = _fmt(_to_float(rest.pop("proportion_samples")) * 100.0)
        rest.pop("n_samples", None)
    else:
        state.count_mode = "n"
        state.n_samples = _fmt(rest.pop("n_samples", ""))
        rest.pop("proportion_samples", None)
    length = rest.get("selected_sequence_length")
    if isinstance(length, int) and not isinstance(length, bool):  # else kept: validation names it
        state.sequence_length = str(rest.pop("selected_sequence_length"))
    strategies = rest.pop("strategies", [])
    state.extra = rest
    if not isinstance(strategies, list):
        state.extra["strategies"] = strategies
        strategies = []
    for raw in strategies:
        state.rows.append(_row_from_entry(raw if isinstance(raw, Mapping) else {}))
    return state


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        rounded = round(value, 10)
        return str(int(rounded)) if rounded.is_integer() else repr(rounded)
    return str(value)


def _row_from_entry(entry: Mapping[str, Any]) -> Row:
    inp = dict(entry.get("input") or {}) if isinstance(entry.get("input"), Mapping) else {}
    strat = dict(entry.get("strategy") or {}) if isinstance(entry.get("strategy"), Mapping) else {}
    row = Row(strategy=str(strat.pop("type", "")), input=str(inp.pop("type", "")))
    strength = entry.get("strength", strat.pop("strength", None))
    row.strength = "1.0" if strength is None else _fmt(strength)
    if row.input == "EMBEDDINGS":
        row.embedding = _fmt(inp.pop("embedding", ""))
        row.tag_name = _fmt(inp.pop("tag_name", ""))
    elif row.input == "SCORES":
        row.score_task = _fmt(inp.pop("task", ""))
        row.score_name = _fmt(inp.pop("score", ""))
    elif row.input == "METADATA":
        row.metadata_key = _fmt(inp.pop("key", ""))
    elif row.input == "PREDICTIONS":
        row.pred_task = _fmt(inp.pop("task", ""))
        row.pred_name = _fmt(inp.pop("name", "CLASS_DISTRIBUTION"))
    elif row.input == "RANDOM":
        row.random_seed = _fmt(inp.pop("random_seed", ""))
    if row.strategy == "DIVERSITY":
        row.min_distance = _fmt(strat.pop("stopping_condition_minimum_distance", ""))
    elif row.strategy == "TYPICALITY":
        row.num_nearest_neighbors = _fmt(strat.pop("num_nearest_neighbors", ""))
    elif row.strategy == "THRESHOLD":
        row.threshold = _fmt(strat.pop("threshold", ""))
        row.operation = _fmt(strat.pop("operation", "BIGGER"))
    elif row.strategy == "BALANCE":
        row.distribution_given = "distribution" in strat
        row.distribution = _fmt(strat.pop("distribution", "TARGET"))
        target = strat.pop("target", None)
        if isinstance(target, Mapping):
            row.target = [(str(k), _fmt(v)) for k, v in target.items()]
        elif target is not None:
            strat["target"] = target
    if strength is not None and row.strategy == "THRESHOLD":
        strat["strength"] = strength  # kept so that validation names it
    row.extra_input = inp
    row.extra_strategy = strat
    return row


def config_json(config: Mapping[str, Any]) -> str:
    return json.dumps(config, indent=2)
