"""Selection engine: LightlyOne-compatible greedy selection on numpy arrays.

Pure numpy + standard library (no Django), usable on its own::

    from curation.selection import ArrayData, select

    result = select(config_dict, ArrayData(embeddings={"default": X}))
    result.indices  # pick order, preselected first
"""

from .config import Requirements, SelectionConfig, StrategySpec, parse_config
from .data import ArrayData, SelectionResult
from .engine import select
from .errors import ConfigError, DataError, SelectionCancelled, SelectionError
from .options import DEFAULT_APPROXIMATE_ABOVE, KNN_MODES, KnnOptions, knn_options
from .sequences import SequencePlan, select_sequences, sequence_plan

__all__ = [
    "DEFAULT_APPROXIMATE_ABOVE",
    "KNN_MODES",
    "ArrayData",
    "ConfigError",
    "DataError",
    "KnnOptions",
    "Requirements",
    "SelectionCancelled",
    "SelectionConfig",
    "SelectionError",
    "SelectionResult",
    "SequencePlan",
    "StrategySpec",
    "knn_options",
    "parse_config",
    "select",
    "select_sequences",
    "sequence_plan",
]
