"""One weight term alone picks from a value order sorted once (``weight_order``): the picks and
their explanation must equal the generic argmax (a pass over every position per pick) bit for
bit, ties (lowest position first), zero weights, negative strengths and preselection included."""

from __future__ import annotations

import numpy as np
import pytest

from curation.selection import ArrayData, select
from curation.selection import objective as objective_module
from curation.selection.weight_order import WeightOrder


def _weights(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(11)
    if kind == "ties":  # a few distinct values: long runs of exact ties
        return rng.integers(0, 4, size=n).astype(np.float64)
    if kind == "zeros":
        w = rng.random(n)
        w[rng.random(n) < 0.3] = 0.0
        return w
    if kind == "binary":  # two runs of equal weights, hundreds long
        return (rng.random(n) < 0.4).astype(np.float64)
    if kind == "allzero":  # log(0): every value -inf (positive strength) or +inf
        return np.zeros(n)
    if kind == "close":  # differences far below W's ulp once a few are selected
        return 1e6 + rng.integers(0, 3, size=n) * 1e-10
    return rng.random(n)


def _run(w: np.ndarray, strength: float, n_samples: int, pre: np.ndarray | None):
    cfg = {
        "n_samples": n_samples,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "w"},
                "strategy": {"type": "WEIGHTS", "strength": strength},
            }
        ],
    }
    data = ArrayData(embeddings={}, metadata={"w": w}, preselected=pre)
    return select(cfg, data)


@pytest.mark.parametrize("kind", ["random", "ties", "binary", "zeros", "allzero", "close"])
@pytest.mark.parametrize("strength", [1.0, -2.5])
@pytest.mark.parametrize("preselect", [False, True])
def test_the_value_order_picks_what_the_generic_argmax_picks(
    monkeypatch, kind, strength, preselect
):
    n = 700
    w = _weights(kind, n)
    pre = None
    if preselect:
        pre = np.zeros(n, dtype=bool)
        pre[[3, 50, 51, 400]] = True
    made = []
    real_make = WeightOrder.make

    def spy(terms, size):
        order = real_make(terms, size)
        made.append(order is not None)
        return order

    monkeypatch.setattr(objective_module.WeightOrder, "make", staticmethod(spy))
    fast = _run(w, strength, 300, pre)
    assert made == [True]
    monkeypatch.setattr(objective_module.WeightOrder, "make", staticmethod(lambda t, s: None))
    generic = _run(w, strength, 300, pre)
    assert fast.indices.tolist() == generic.indices.tolist()
    np.testing.assert_array_equal(fast.explanation, generic.explanation)
    assert len(set(fast.indices.tolist())) == 300
