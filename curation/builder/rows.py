"""Pure helpers between LightlyOne Worker selection configs and the strategy builder's rows.

The builder is a plain HTML form: each strategy is a row (a fieldset) whose fields are named
``s<i>-<field>``; ``rows`` holds the number of rows. A row keeps what the user typed as text so
the form can be re-rendered unchanged with its errors; :func:`config_from_state` turns the rows
into the config JSON and :func:`state_from_config` does the reverse (for presets and pasted JSON).
Validation is :func:`curation.selection.parse_config`, applied row by row so every row shows its
own error next to the field the JSON path names. No Django import here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from curation.selection import ConfigError, parse_config
from curation.selection.config import ACCEPTED_INPUTS, DISTRIBUTIONS, OPERATIONS, PREDICTION_NAMES
from curation.selection.config_text import ConfigTextError, config_from_text

STRATEGIES: tuple[tuple[str, str], ...] = (
    ("DIVERSITY", "Diversity: spread out in an embedding space"),
    ("TYPICALITY", "Typicality: representative of dense regions"),
    ("SIMILARITY", "Similarity: close to a query tag"),
    ("WEIGHTS", "Weights: prefer high values"),
    ("THRESHOLD", "Threshold: keep only values passing a bound"),
    ("BALANCE", "Balance: class or metadata distribution"),
)
INPUT_LABELS: dict[str, str] = {
    "EMBEDDINGS": "Embeddings",
    "SCORES": "Scores",
    "METADATA": "Metadata",
    "PREDICTIONS": "Predictions",
    "RANDOM": "Random",
}
OPERATION_LABELS: dict[str, str] = {
    "SMALLER": "<",
    "SMALLER_EQUAL": "<=",
    "BIGGER": ">",
    "BIGGER_EQUAL": ">=",
}
DISTRIBUTION_LABELS: dict[str, str] = {
    "TARGET": "Target shares",
    "UNIFORM": "Uniform over classes",
    "INPUT": "Like the candidates",
}
DEFAULT_NEIGHBORS = 20

_INPUT_FIELD_OF: dict[str, str] = {
    "type": "input",
    "embedding": "embedding",
    "tag_name": "tag_name",
    "dataset": "tag_name",
    "dataset_id": "tag_name",
    "score": "score",
    "key": "metadata_key",
    "name": "pred_name",
    "random_seed": "random_seed",
}
_STRATEGY_FIELD_OF: dict[str, str] = {
    "type": "strategy",
    "stopping_condition_minimum_distance": "min_distance",
    "num_nearest_neighbors": "num_nearest_neighbors",
    "threshold": "threshold",
    "operation": "operation",
    "distribution": "distribution",
    "target": "target",
    "strength": "strength",
}
_PATH = re.compile(r"^strategies\[(\d+)\](?:\.(input|strategy|strength))?(?:\.([^.]+))?")


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
        return ACCEPTED_INPUTS.get(self.strategy, tuple(INPUT_LABELS))

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
    extra: dict[str, Any] = field(default_factory=dict)


def score_option(task: str, score: str) -> str:
    return json.dumps([task, score])


# --------------------------------------------------------------------------- form <-> state


def state_from_form(data: Mapping[str, Any]) -> BuilderState:
    """Read the builder's fields (``rows``, ``s<i>-<field>``, ``count_mode``, …) from a form."""

    def text(key: str, default: str = "") -> str:
        value = data.get(key, default)
        return default if value is None else str(value).strip()

    try:
        count = max(0, min(int(text("rows", "1") or "1"), 50))
    except ValueError:
        count = 1
    rows = []
    for i in range(count):
        p = f"s{i}-"
        task, score = "", ""
        raw_score = text(p + "score")
        if raw_score:
            try:
                task, score = (str(v) for v in json.loads(raw_score))
            except (ValueError, TypeError, RecursionError):
                task, score = "", ""
        targets = []
        for key in data:
            if key.startswith(p + "target:"):
                name = key[len(p + "target:") :]
                targets.append((name, text(key)))
        new_class = text(p + "target_new_class")
        new_share = text(p + "target_new_share")
        if new_class and new_class not in dict(targets):
            targets.append((new_class, new_share))
        row = Row(
            strategy=text(p + "strategy", "DIVERSITY"),
            input=text(p + "input", "EMBEDDINGS"),
            embedding=text(p + "embedding"),
            tag_name=text(p + "tag_name"),
            min_distance=text(p + "min_distance"),
            num_nearest_neighbors=text(p + "num_nearest_neighbors"),
            score_task=task,
            score_name=score,
            metadata_key=text(p + "metadata_key"),
            pred_task=text(p + "pred_task"),
            pred_name=text(p + "pred_name", "CLASS_DISTRIBUTION"),
            random_seed=text(p + "random_seed"),
            threshold=text(p + "threshold"),
            operation=text(p + "operation", "BIGGER"),
            distribution=text(p + "distribution", "TARGET"),
            distribution_given=text(p + "distribution_given") == "1",
            target=targets,
            strength=text(p + "strength", "1.0"),
            extra_input=_json_dict(text(p + "extra_input")),
            extra_strategy=_json_dict(text(p + "extra_strategy")),
        )
        rows.append(row.normalized())
    return BuilderState(
        rows=rows,
        count_mode="proportion" if text("count_mode") == "proportion" else "n",
        n_samples=text("n_samples", "100"),
        percent=text("percent", "10"),
        extra=_json_dict(text("extra")),
    )


def _json_dict(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


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


# --------------------------------------------------------------------------- validation


def field_for_path(path: str, row: Row | None = None) -> tuple[int | None, str]:
    """Which row and builder field a ``ConfigError`` path is about.

    ``strategies[1].strategy.operation`` -> ``(1, "operation")``; ``n_samples`` -> ``(None,
    "count")``; anything else at the top -> ``(None, "config")``.
    """
    match = _PATH.match(path)
    if not match:
        if path.startswith(("n_samples", "proportion_samples")):
            return None, "count"
        if path == "strategies":
            return None, "rows"
        return None, "config"
    index = int(match.group(1))
    part, name = match.group(2), match.group(3)
    if part == "strength":
        return index, "strength"
    if part == "input":
        if name == "task":
            if row is not None and row.input == "PREDICTIONS":
                return index, "pred_task"
            return index, "score" if row is None or row.input == "SCORES" else "input"
        return index, _INPUT_FIELD_OF.get(name or "type", "input")
    if part == "strategy":
        return index, _STRATEGY_FIELD_OF.get(name or "type", "strategy")
    return index, "strategy"


def validate_state(state: BuilderState) -> tuple[dict[str, Any], dict[str, str]]:
    """``(config, errors)``; ``errors`` maps ``"<row>.<field>"``, ``"count"``, ``"rows"`` or
    ``"config"`` to a message. Every row is checked on its own so all rows show their errors."""
    config, errors = config_from_state(state)
    if not state.rows:
        errors["rows"] = "add at least one strategy"
    head = {k: v for k, v in config.items() if k != "strategies"}
    probe = [{"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS"}}]
    _collect(head | {"strategies": probe}, None, errors, state)
    for i, entry in enumerate(config["strategies"]):
        if not any(k.startswith(f"{i}.") for k in errors):
            _collect({"n_samples": 1, "strategies": [entry]}, i, errors, state)
    if not errors:
        _collect(config, None, errors, state)
    return config, errors


def _collect(
    config: dict[str, Any], index: int | None, errors: dict[str, str], state: BuilderState
) -> None:
    try:
        parse_config(config)
    except ConfigError as exc:
        path = exc.path
        if index is not None:
            path = re.sub(r"^strategies\[0\]", f"strategies[{index}]", path)
        row_index, name = field_for_path(path, _row_at(state, path))
        key = name if row_index is None else f"{row_index}.{name}"
        errors.setdefault(key, f"{_leaf(path)} {exc.detail}".strip())


def _row_at(state: BuilderState, path: str) -> Row | None:
    match = _PATH.match(path)
    if match and int(match.group(1)) < len(state.rows):
        return state.rows[int(match.group(1))]
    return None


def _leaf(path: str) -> str:
    """The last name of a path, for messages: ``strategies[0].strategy.operation`` ->
    ``operation``; ``strategies[0].strategy.target.cat`` -> ``target cat``."""
    if ".target." in path:
        return "target " + path.split(".target.", 1)[1]
    return path.rsplit(".", 1)[-1] if path else ""


def errors_by_row(errors: Mapping[str, str]) -> tuple[dict[int, dict[str, str]], dict[str, str]]:
    """Split flat errors into ``{row: {field: message}}`` and the form-level rest."""
    rows: dict[int, dict[str, str]] = {}
    top: dict[str, str] = {}
    for key, message in errors.items():
        head, _, name = key.partition(".")
        if name and head.isdigit():
            rows.setdefault(int(head), {})[name] = message
        else:
            top[key] = message
    return rows, top


def parse_pasted_json(text: str) -> tuple[dict[str, Any] | None, str]:
    """``(config, "")`` for a config object as the docs write it (comments, trailing commas,
    Python literals allowed), else ``(None, one sentence naming the line and column)``."""
    if not text.strip():
        return None, "Paste a selection config (JSON) first."
    try:
        return config_from_text(text, what="The pasted text"), ""
    except ConfigTextError as exc:
        return None, str(exc)


def config_json(config: Mapping[str, Any]) -> str:
    return json.dumps(config, indent=2)
