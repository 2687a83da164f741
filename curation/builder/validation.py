"""Where the engine's errors belong in the builder: a ``ConfigError`` path such as
``strategies[1].strategy.operation`` becomes the row and field it names.

:func:`validate_state` checks every row on its own (so all rows show their errors, not just the
first) and then the whole config; errors map ``"<row>.<field>"``, ``"count"``, ``"rows"`` or
``"config"`` to a message. Pure: no Django import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from curation.builder.rows import BuilderState, Row, config_from_state
from curation.selection import ConfigError, parse_config

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
        if path == "selected_sequence_length":
            return None, "sequence_length"
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
