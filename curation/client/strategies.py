"""Selection strategies as LightlyStudio spells them, turned into LightlyOne config entries.

Each class is one ``{"input": …, "strategy": …}`` entry of the config the server runs
(``shared/selection-semantics.md``); ``strength`` sits on the strategy. ``config_entry()``
is the JSON; nothing here talks to the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Distribution = Literal["uniform", "input"] | Mapping[str, float]
GROUND_TRUTH = "ground_truth"


class SelectionStrategy:
    """Base class: one entry of a selection config."""

    def config_entry(self) -> dict[str, Any]:
        raise NotImplementedError


def _embeddings(name: str | None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "EMBEDDINGS", **extra}
    if name is not None:
        entry["embedding"] = name
    return entry


@dataclass
class EmbeddingDiversityStrategy(SelectionStrategy):
    """Diversity (farthest point) in an embedding space (the dataset's only one by default)."""

    embedding_model_name: str | None = None
    strength: float = 1.0
    stopping_condition_minimum_distance: float | None = None

    def config_entry(self) -> dict[str, Any]:
        strategy: dict[str, Any] = {"type": "DIVERSITY", "strength": self.strength}
        if self.stopping_condition_minimum_distance is not None:
            strategy["stopping_condition_minimum_distance"] = (
                self.stopping_condition_minimum_distance
            )
        return {"input": _embeddings(self.embedding_model_name), "strategy": strategy}


@dataclass
class MetadataWeightingStrategy(SelectionStrategy):
    """Prefer high values of a numeric metadata key (low ones with a negative strength)."""

    metadata_key: str
    strength: float = 1.0

    def config_entry(self) -> dict[str, Any]:
        return {
            "input": {"type": "METADATA", "key": self.metadata_key},
            "strategy": {"type": "WEIGHTS", "strength": self.strength},
        }


@dataclass
class AnnotationBalancingStrategy(SelectionStrategy):
    """Balance annotation classes: ``"uniform"``, ``"input"`` or ``{class: ratio}``.

    ``task``: the annotation task whose classes count (default ground truth); with
    ``metadata_key`` a string metadata key is balanced instead."""

    target_distribution: Distribution = "uniform"
    strength: float = 1.0
    task: str = GROUND_TRUTH
    metadata_key: str | None = None

    def config_entry(self) -> dict[str, Any]:
        if self.metadata_key is not None:
            source: dict[str, Any] = {"type": "METADATA", "key": self.metadata_key}
        else:
            source = {"type": "PREDICTIONS", "task": self.task, "name": "CATEGORY_COUNT"}
        strategy: dict[str, Any] = {"type": "BALANCE", "strength": self.strength}
        target = self.target_distribution
        if isinstance(target, str):
            if target not in ("uniform", "input"):
                raise ValueError(
                    f"target_distribution must be 'uniform', 'input' or a dict of class ratios, "
                    f"not {target!r}."
                )
            strategy["distribution"] = target.upper()
        else:
            strategy["distribution"] = "TARGET"
            strategy["target"] = {str(k): float(v) for k, v in dict(target).items()}
        return {"input": source, "strategy": strategy}


@dataclass
class TypicalityStrategy(SelectionStrategy):
    """Prefer samples typical of the candidates (many close neighbours in embedding space)."""

    embedding_model_name: str | None = None
    strength: float = 1.0
    num_nearest_neighbors: int = 20

    def config_entry(self) -> dict[str, Any]:
        strategy = {
            "type": "TYPICALITY",
            "strength": self.strength,
            "num_nearest_neighbors": self.num_nearest_neighbors,
        }
        return {"input": _embeddings(self.embedding_model_name), "strategy": strategy}


@dataclass
class SimilarityStrategy(SelectionStrategy):
    """Prefer samples close to the samples of ``query_tag_name``."""

    query_tag_name: str
    embedding_model_name: str | None = None
    strength: float = 1.0

    def config_entry(self) -> dict[str, Any]:
        source = _embeddings(self.embedding_model_name, tag_name=self.query_tag_name)
        return {"input": source, "strategy": {"type": "SIMILARITY", "strength": self.strength}}


@dataclass
class ThresholdStrategy(SelectionStrategy):
    """Keep only candidates whose metadata value passes ``operation`` ``threshold``
    (``BIGGER``, ``BIGGER_EQUAL``, ``SMALLER``, ``SMALLER_EQUAL``); a hard filter."""

    metadata_key: str
    threshold: float
    operation: str = "BIGGER_EQUAL"

    def config_entry(self) -> dict[str, Any]:
        return {
            "input": {"type": "METADATA", "key": self.metadata_key},
            "strategy": {
                "type": "THRESHOLD",
                "threshold": self.threshold,
                "operation": self.operation,
            },
        }


@dataclass
class RandomStrategy(SelectionStrategy):
    """Uniform random weights (the same ``random_seed`` gives the same result)."""

    random_seed: int | None = None
    strength: float = 1.0

    def config_entry(self) -> dict[str, Any]:
        source: dict[str, Any] = {"type": "RANDOM"}
        if self.random_seed is not None:
            source["random_seed"] = self.random_seed
        return {"input": source, "strategy": {"type": "WEIGHTS", "strength": self.strength}}


def selection_config(n_samples: int, strategies: list[SelectionStrategy]) -> dict[str, Any]:
    """The LightlyOne config of ``strategies`` selecting ``n_samples``."""
    if not strategies:
        raise ValueError("Give at least one selection strategy.")
    return {"n_samples": n_samples, "strategies": [s.config_entry() for s in strategies]}
