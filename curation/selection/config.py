"""Parse and validate a LightlyOne Worker selection config into typed dataclasses.

Unknown keys are errors; every error names its JSON path, e.g.
``strategies[1].strategy.operation: must be one of SMALLER, SMALLER_EQUAL, BIGGER, BIGGER_EQUAL``.
The dataclasses and the vocabulary live in ``config_spec`` and are importable from here too.

``selected_sequence_length`` (top level, integer >= 1, default 1) selects runs of L consecutive
video frames instead of single samples; ``n_samples`` must then be a multiple of L (see
``sequences`` for the semantics).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .config_spec import (
    ACCEPTED_INPUTS,
    DISTRIBUTIONS,
    INPUT_TYPES,
    OPERATIONS,
    PREDICTION_NAMES,
    STRATEGY_TYPES,
    InputSpec,
    InputType,
    Requirements,
    SelectionConfig,
    StrategySpec,
    StrategyType,
)
from .errors import ConfigError

__all__ = [
    "ACCEPTED_INPUTS",
    "DISTRIBUTIONS",
    "INPUT_TYPES",
    "OPERATIONS",
    "PREDICTION_NAMES",
    "STRATEGY_TYPES",
    "InputSpec",
    "InputType",
    "Requirements",
    "SelectionConfig",
    "StrategySpec",
    "StrategyType",
    "parse_config",
]

_INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "EMBEDDINGS": ("type", "embedding", "tag_name", "dataset", "dataset_id", "task"),
    "SCORES": ("type", "task", "score"),
    "METADATA": ("type", "key"),
    "PREDICTIONS": ("type", "task", "name"),
    "RANDOM": ("type", "random_seed"),
}
_STRATEGY_FIELDS: dict[str, tuple[str, ...]] = {
    "DIVERSITY": ("type", "strength", "stopping_condition_minimum_distance"),
    "TYPICALITY": ("type", "strength", "num_nearest_neighbors"),
    "SIMILARITY": ("type", "strength"),
    "WEIGHTS": ("type", "strength"),
    "THRESHOLD": ("type", "threshold", "operation"),
    "BALANCE": ("type", "strength", "distribution", "target"),
}


# --------------------------------------------------------------------------- helpers


def _one_of(values: tuple[str, ...]) -> str:
    return "must be one of " + ", ".join(values)


def _check_keys(obj: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in obj:
        if key not in allowed:
            if not str(key).isprintable():  # a line break in a path would split the message
                raise ConfigError(path, f"unknown field {key!r} (allowed: {', '.join(allowed)})")
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(where, f"unknown field (allowed: {', '.join(allowed)})")


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be an object")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(path, "must be a non-empty string")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(path, "must be a number")
    try:
        out = float(value)
    except OverflowError:  # an integer beyond float's range, e.g. 10**400
        raise ConfigError(path, "must be a finite number") from None
    if not math.isfinite(out):
        raise ConfigError(path, "must be a finite number")
    return out


def _dataset_ref(value: Any, path: str) -> str | None:
    """A query dataset given by name or id: a non-empty string or an integer id >= 1."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(path, "a dataset id must be >= 1")
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, "must be a dataset name or id (a non-empty string or an integer)")
    return value.strip()


def _integer(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, "must be an integer")
    return int(value)


# --------------------------------------------------------------------------- parsing


def _parse_input(raw: Any, path: str) -> InputSpec:
    obj = _mapping(raw, path)
    if "type" not in obj:
        raise ConfigError(f"{path}.type", f"is required and {_one_of(INPUT_TYPES)}")
    itype = obj["type"]
    if itype not in INPUT_TYPES:
        raise ConfigError(f"{path}.type", _one_of(INPUT_TYPES))
    _check_keys(obj, _INPUT_FIELDS[itype], path)

    def opt_str(key: str) -> str | None:
        return None if key not in obj else _string(obj[key], f"{path}.{key}")

    def req_str(key: str) -> str:
        if key not in obj:
            raise ConfigError(f"{path}.{key}", f"is required for input type {itype}")
        return _string(obj[key], f"{path}.{key}")

    if itype == "EMBEDDINGS":
        if "dataset" in obj and "dataset_id" in obj:
            raise ConfigError(f"{path}.dataset_id", "give either dataset or dataset_id, not both")
        dataset_key = "dataset_id" if "dataset_id" in obj else "dataset"
        dataset = _dataset_ref(obj.get(dataset_key), f"{path}.{dataset_key}")
        tag_name = opt_str("tag_name")
        if dataset is not None and tag_name is None:
            raise ConfigError(f"{path}.tag_name", "is required when a query dataset is given")
        return InputSpec(
            type=itype,
            embedding=opt_str("embedding"),
            tag_name=tag_name,
            dataset=dataset,
            dataset_key=dataset_key,
            task=opt_str("task"),  # object-level: the objects (boxes) of this detection task
        )
    if itype == "SCORES":
        return InputSpec(type=itype, task=req_str("task"), score=req_str("score"))
    if itype == "METADATA":
        return InputSpec(type=itype, key=req_str("key"))
    if itype == "PREDICTIONS":
        task = req_str("task")
        name = req_str("name")
        if name not in PREDICTION_NAMES:
            raise ConfigError(f"{path}.name", _one_of(PREDICTION_NAMES))
        return InputSpec(type=itype, task=task, name=name)
    seed = None
    if "random_seed" in obj and obj["random_seed"] is not None:
        seed = _integer(obj["random_seed"], f"{path}.random_seed")
        if seed < 0:
            raise ConfigError(f"{path}.random_seed", "must be >= 0")
    return InputSpec(type="RANDOM", random_seed=seed)


def _parse_strategy_entry(raw: Any, index: int) -> StrategySpec:
    path = f"strategies[{index}]"
    entry = _mapping(raw, path)
    _check_keys(entry, ("input", "strategy", "strength"), path)
    for key in ("input", "strategy"):
        if key not in entry:
            raise ConfigError(f"{path}.{key}", "is required")
    inp = _parse_input(entry["input"], f"{path}.input")
    spath = f"{path}.strategy"
    strat = _mapping(entry["strategy"], spath)
    if "type" not in strat:
        raise ConfigError(f"{spath}.type", f"is required and {_one_of(STRATEGY_TYPES)}")
    stype = strat["type"]
    if stype not in STRATEGY_TYPES:
        raise ConfigError(f"{spath}.type", _one_of(STRATEGY_TYPES))
    if stype == "THRESHOLD" and "strength" in entry:
        raise ConfigError(f"{path}.strength", "THRESHOLD is a hard filter and takes no strength")
    _check_keys(strat, _STRATEGY_FIELDS[stype], spath)
    if inp.type not in ACCEPTED_INPUTS[stype]:
        raise ConfigError(
            f"{path}.input.type",
            f"{stype} accepts {' or '.join(ACCEPTED_INPUTS[stype])} input, not {inp.type}",
        )
    if stype == "SIMILARITY" and inp.tag_name is None:
        raise ConfigError(f"{path}.input.tag_name", "SIMILARITY needs a query set (tag_name)")
    if stype != "SIMILARITY" and inp.tag_name is not None:
        raise ConfigError(f"{path}.input.tag_name", "a query set is only used by SIMILARITY")

    strength = 1.0
    if "strength" in entry and "strength" in strat:
        raise ConfigError(f"{spath}.strength", "strength is given twice; keep one")
    if "strength" in entry:
        strength = _number(entry["strength"], f"{path}.strength")
    elif "strength" in strat:
        strength = _number(strat["strength"], f"{spath}.strength")

    kwargs: dict[str, Any] = {}
    if stype == "DIVERSITY" and strat.get("stopping_condition_minimum_distance") is not None:
        p = f"{spath}.stopping_condition_minimum_distance"
        md = _number(strat["stopping_condition_minimum_distance"], p)
        if md < 0:
            raise ConfigError(p, "must be >= 0")
        kwargs["stopping_condition_minimum_distance"] = md
    if stype == "TYPICALITY" and "num_nearest_neighbors" in strat:
        p = f"{spath}.num_nearest_neighbors"
        k = _integer(strat["num_nearest_neighbors"], p)
        if k < 1:
            raise ConfigError(p, "must be >= 1")
        kwargs["num_nearest_neighbors"] = k
    if stype == "THRESHOLD":
        if "threshold" not in strat:
            raise ConfigError(f"{spath}.threshold", "is required for THRESHOLD")
        kwargs["threshold"] = _number(strat["threshold"], f"{spath}.threshold")
        if strat.get("operation") not in OPERATIONS:
            raise ConfigError(f"{spath}.operation", _one_of(OPERATIONS))
        kwargs["operation"] = strat["operation"]
    if stype == "BALANCE":
        dist = strat.get("distribution", "TARGET")
        if dist not in DISTRIBUTIONS:
            raise ConfigError(f"{spath}.distribution", _one_of(DISTRIBUTIONS))
        kwargs["distribution"] = dist
        if dist == "TARGET":
            kwargs["target"] = _parse_target(strat.get("target"), f"{spath}.target")
        elif "target" in strat:
            raise ConfigError(
                f"{spath}.target", f"is only used with distribution TARGET, not {dist}"
            )
    return StrategySpec(index=index, input=inp, type=stype, strength=strength, **kwargs)


def _parse_target(raw: Any, path: str) -> tuple[tuple[str, float], ...]:
    if raw is None:
        raise ConfigError(path, "is required for distribution TARGET")
    obj = _mapping(raw, path)
    if not obj:
        raise ConfigError(path, "must list at least one class")
    out = []
    for name, share in obj.items():
        p = f"{path}.{name}"
        value = _number(share, p)
        if value < 0:
            raise ConfigError(p, "a target share must be >= 0")
        out.append((str(name), value))
    if sum(v for _, v in out) <= 0:
        raise ConfigError(path, "the target shares must not all be 0")
    return tuple(out)


def _check_object_level(strategies: tuple[StrategySpec, ...]) -> None:
    """An object-level config (an EMBEDDINGS input naming a ``task``) selects the objects of
    that one task: every EMBEDDINGS input names it, and SCORES / PREDICTIONS that name a task
    name the same one (they are read per object). Anything else is a mix, refused at its path."""
    first = next((s for s in strategies if s.input.type == "EMBEDDINGS" and s.input.task), None)
    if first is None:
        return
    task = first.input.task
    for spec in strategies:
        inp = spec.input
        if inp.type == "EMBEDDINGS" and inp.task is None:
            raise ConfigError(
                f"{spec.path}.input.task",
                f"{first.path} selects objects of task {task!r}, so every EMBEDDINGS input "
                f'needs "task": {json.dumps(task)} (a config cannot mix image and object '
                "embeddings)",
            )
        if inp.type in ("EMBEDDINGS", "SCORES", "PREDICTIONS") and inp.task != task:
            raise ConfigError(
                f"{spec.path}.input.task",
                f"{first.path} selects objects of task {task!r}; a config cannot mix tasks "
                f"({inp.task!r} here)",
            )


def parse_config(raw: Any) -> SelectionConfig:
    """Validate a LightlyOne Worker selection config dict; raise :class:`ConfigError`."""
    obj = _mapping(raw, "")
    _check_keys(
        obj, ("n_samples", "proportion_samples", "strategies", "selected_sequence_length"), ""
    )
    has_n = obj.get("n_samples") is not None
    has_p = obj.get("proportion_samples") is not None
    if has_n == has_p:
        raise ConfigError("n_samples", "give exactly one of n_samples or proportion_samples")
    n_samples = None
    proportion = None
    if has_n:
        n_samples = _integer(obj["n_samples"], "n_samples")
        if n_samples < 1:
            raise ConfigError("n_samples", "must be >= 1")
    else:
        proportion = _number(obj["proportion_samples"], "proportion_samples")
        if not 0 < proportion <= 1:
            raise ConfigError("proportion_samples", "must be > 0 and <= 1")
    if "strategies" not in obj:
        raise ConfigError("strategies", "is required")
    raw_strats = obj["strategies"]
    if not isinstance(raw_strats, list) or not raw_strats:
        raise ConfigError("strategies", "must be a non-empty list")
    strategies = tuple(_parse_strategy_entry(s, i) for i, s in enumerate(raw_strats))
    _check_object_level(strategies)
    length = _sequence_length(obj, n_samples, strategies)
    return SelectionConfig(
        n_samples=n_samples,
        proportion_samples=proportion,
        strategies=strategies,
        selected_sequence_length=length,
    )


def _sequence_length(
    obj: Mapping[str, Any], n_samples: int | None, strategies: tuple[StrategySpec, ...]
) -> int:
    """``selected_sequence_length`` (default 1): an integer >= 1 that divides ``n_samples``;
    sequences are runs of video frames, so an object-level config cannot have them."""
    raw = obj.get("selected_sequence_length", 1)
    length = _integer(raw, "selected_sequence_length")
    if length < 1:
        raise ConfigError("selected_sequence_length", "must be >= 1")
    if length == 1:
        return 1
    if n_samples is not None and n_samples % length:
        raise ConfigError(
            "n_samples",
            f"must be a multiple of selected_sequence_length ({length}): every sequence "
            f"brings {length} frames",
        )
    task = next(
        (s.input.task for s in strategies if s.input.task and s.input.type == "EMBEDDINGS"), None
    )
    if task is not None:
        raise ConfigError(
            "selected_sequence_length",
            f"sequences are runs of video frames; an object-level selection (objects of "
            f"{task!r}) cannot select them",
        )
    return length
