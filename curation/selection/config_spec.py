"""The typed form of a selection config: the vocabulary (input and strategy types, operations,
distributions) and the frozen dataclasses ``parse_config`` (``config``) returns.

Invariant: every value here has been validated by the parser (types, ranges, which fields go
with which input type), so the engine reads these without re-checking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

InputType = Literal["EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS", "RANDOM"]
StrategyType = Literal["DIVERSITY", "TYPICALITY", "SIMILARITY", "WEIGHTS", "THRESHOLD", "BALANCE"]

INPUT_TYPES: tuple[str, ...] = ("EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS", "RANDOM")
STRATEGY_TYPES: tuple[str, ...] = (
    "DIVERSITY",
    "TYPICALITY",
    "SIMILARITY",
    "WEIGHTS",
    "THRESHOLD",
    "BALANCE",
)
OPERATIONS: tuple[str, ...] = ("SMALLER", "SMALLER_EQUAL", "BIGGER", "BIGGER_EQUAL")
DISTRIBUTIONS: tuple[str, ...] = ("TARGET", "UNIFORM", "INPUT")
PREDICTION_NAMES: tuple[str, ...] = ("CLASS_DISTRIBUTION", "CATEGORY_COUNT")

# Which input types each strategy accepts.
ACCEPTED_INPUTS: dict[str, tuple[str, ...]] = {
    "DIVERSITY": ("EMBEDDINGS",),
    "TYPICALITY": ("EMBEDDINGS",),
    "SIMILARITY": ("EMBEDDINGS",),
    "WEIGHTS": ("SCORES", "METADATA", "RANDOM"),
    "THRESHOLD": ("SCORES", "METADATA"),
    "BALANCE": ("PREDICTIONS", "METADATA"),
}


@dataclass(frozen=True)
class InputSpec:
    """One ``input`` object. Fields that do not apply to ``type`` are None."""

    type: str
    embedding: str | None = None
    tag_name: str | None = None
    dataset: str | None = None
    task: str | None = None
    score: str | None = None
    key: str | None = None
    name: str | None = None
    random_seed: int | None = None
    dataset_key: str = "dataset"  # the key the user wrote the query dataset under

    @property
    def query_key(self) -> str | tuple[str, str] | None:
        """Key of the query set in ``ArrayData.queries``: ``tag_name``, or
        ``(dataset, tag_name)`` when the input names another dataset."""
        if self.tag_name is None:
            return None
        if self.dataset is not None:
            return (self.dataset, self.tag_name)
        return self.tag_name

    def describe(self) -> str:
        if self.type == "EMBEDDINGS":
            parts = [self.embedding or "default"]
            if self.task is not None:
                parts.insert(0, f"objects of {self.task}")
            if self.tag_name is not None:
                parts.append(f"query={self.query_key!r}")
            return f"EMBEDDINGS {' '.join(parts)}"
        if self.type == "SCORES":
            return f"SCORES {self.task}/{self.score}"
        if self.type == "METADATA":
            return f"METADATA {self.key}"
        if self.type == "PREDICTIONS":
            return f"PREDICTIONS {self.task}/{self.name}"
        return f"RANDOM seed={self.random_seed}"


@dataclass(frozen=True)
class StrategySpec:
    """One entry of ``strategies`` (input + strategy + strength)."""

    index: int
    input: InputSpec
    type: str
    strength: float = 1.0
    stopping_condition_minimum_distance: float | None = None
    num_nearest_neighbors: int = 20
    threshold: float | None = None
    operation: str | None = None
    distribution: str = "TARGET"
    target: tuple[tuple[str, float], ...] | None = None

    @property
    def path(self) -> str:
        return f"strategies[{self.index}]"

    @property
    def label(self) -> str:
        return f"{self.path} {self.type} ({self.input.describe()})"


@dataclass(frozen=True)
class Requirements:
    """The inputs a config needs, so callers can check they exist before running.

    ``embeddings`` holds space names (None = the default/only space); ``queries`` holds
    ``ArrayData.queries`` keys together with the embedding space they must live in.
    ``numeric_metadata`` / ``string_metadata`` split metadata keys by the kind of value needed.
    """

    embeddings: frozenset[str | None] = field(default_factory=frozenset)
    numeric_metadata: frozenset[str] = field(default_factory=frozenset)
    string_metadata: frozenset[str] = field(default_factory=frozenset)
    scores: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    predictions: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    queries: frozenset[str | tuple[str, str]] = field(default_factory=frozenset)

    @property
    def metadata(self) -> frozenset[str]:
        return self.numeric_metadata | self.string_metadata


@dataclass(frozen=True)
class SelectionConfig:
    n_samples: int | None
    proportion_samples: float | None
    strategies: tuple[StrategySpec, ...]
    # L > 1: select runs of L consecutive frames of one video (``curation.selection.sequences``)
    selected_sequence_length: int = 1

    @property
    def object_task(self) -> str | None:
        """The detection task whose objects an object-level config selects, else None."""
        for s in self.strategies:
            if s.input.type == "EMBEDDINGS" and s.input.task is not None:
                return s.input.task
        return None

    @property
    def thresholds(self) -> tuple[StrategySpec, ...]:
        return tuple(s for s in self.strategies if s.type == "THRESHOLD")

    @property
    def scoring(self) -> tuple[StrategySpec, ...]:
        """The strategies that enter the objective (everything but THRESHOLD)."""
        return tuple(s for s in self.strategies if s.type != "THRESHOLD")

    def n_for(self, n_candidates: int) -> int:
        """Requested number of samples given the candidates left after thresholds."""
        if self.n_samples is not None:
            return self.n_samples
        assert self.proportion_samples is not None
        return max(1, math.floor(self.proportion_samples * n_candidates))

    def requirements(self) -> Requirements:
        emb: set[str | None] = set()
        num_meta: set[str] = set()
        str_meta: set[str] = set()
        scores: set[tuple[str, str]] = set()
        preds: set[tuple[str, str]] = set()
        queries: set[str | tuple[str, str]] = set()
        for s in self.strategies:
            inp = s.input
            if inp.type == "EMBEDDINGS":
                emb.add(inp.embedding)
                if inp.query_key is not None:
                    queries.add(inp.query_key)
            elif inp.type == "SCORES":
                assert inp.task is not None and inp.score is not None
                scores.add((inp.task, inp.score))
            elif inp.type == "METADATA":
                assert inp.key is not None
                (str_meta if s.type == "BALANCE" else num_meta).add(inp.key)
            elif inp.type == "PREDICTIONS":
                assert inp.task is not None and inp.name is not None
                preds.add((inp.task, inp.name))
        return Requirements(
            embeddings=frozenset(emb),
            numeric_metadata=frozenset(num_meta),
            string_metadata=frozenset(str_meta),
            scores=frozenset(scores),
            predictions=frozenset(preds),
            queries=frozenset(queries),
        )
