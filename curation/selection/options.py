"""Engine options that are not part of the LightlyOne config: how typicality finds neighbours.

``knn`` (a run option, never a config key, so configs stay LightlyOne-compatible)::

    {"mode": "auto" | "exact" | "approximate", "approximate_above": 200000}

- ``exact``: exact k-NN (``kernels_knn``), the compatible behaviour, at any size.
- ``approximate``: the IVF search of ``kernels_knn_approx``, at any size; the run's notes state
  its recall@K measured against exact search on sampled candidates.
- ``auto`` (the default): exact up to ``approximate_above`` candidates (default 200,000:
  exact typicality at 200k x 384 took 13 s on 2 cores on clustered data, and its cost grows
  with the square of the count, faster still without cluster structure), approximate above
  (1M x 128 in 2.5-3 min on 2 cores, recall@20 0.956 on the benchmark's mixture; the lists
  searched are chosen for a target recall of 0.95).

Invariant: ``knn_options`` accepts ``None`` (the defaults), a mapping with only these keys, or a
``KnnOptions``; anything else is a ``ConfigError`` whose path names the option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

KNN_MODES = ("auto", "exact", "approximate")
DEFAULT_APPROXIMATE_ABOVE = 200_000


@dataclass(frozen=True)
class KnnOptions:
    mode: str = "auto"
    approximate_above: int = DEFAULT_APPROXIMATE_ABOVE

    def approximate(self, n: int) -> bool:
        """Whether a k-NN search over ``n`` candidates runs approximately."""
        return self.mode == "approximate" or (self.mode == "auto" and n > self.approximate_above)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "approximate_above": self.approximate_above}


def knn_options(value: Mapping[str, Any] | KnnOptions | None, path: str = "knn") -> KnnOptions:
    """Validated k-NN options (see the module docstring); ``ConfigError`` naming the option."""
    if value is None:
        return KnnOptions()
    if isinstance(value, KnnOptions):
        value = value.to_dict()
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be an object with mode and/or approximate_above")
    unknown = sorted(set(value) - {"mode", "approximate_above"})
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", "unknown option (known: mode, approximate_above)")
    mode = value.get("mode", "auto")
    if mode not in KNN_MODES:
        raise ConfigError(f"{path}.mode", f"must be one of {', '.join(KNN_MODES)} (got {mode!r})")
    above = value.get("approximate_above", DEFAULT_APPROXIMATE_ABOVE)
    if isinstance(above, bool) or not isinstance(above, int) or above < 0:
        raise ConfigError(
            f"{path}.approximate_above",
            f"must be a whole number of candidates >= 0 (got {above!r})",
        )
    return KnnOptions(mode=str(mode), approximate_above=int(above))
