"""Compatible mode reproduces lightly_mundig (LightlyStudio's solver) on tie-free problems.

mundig works in float32, so problems are kept small (n <= 10) and continuous-valued: there
float32 rounding cannot create ties and both must agree pick for pick.
"""

from __future__ import annotations

import numpy as np
import pytest

from curation.selection import ArrayData, select

mundig = pytest.importorskip(
    "lightly_mundig", reason="lightly_mundig (bench extra) is not installed"
)

KINDS = ["div", "div_md", "weights", "balance", "typicality", "similarity", "mix", "mix_neg"]


def _run_mundig(kind, X, w, C, t, Q, pre, n, md):
    sel = mundig.Selection()
    N = len(X)
    X32 = X.astype(np.float32)
    if kind in ("div", "mix", "mix_neg"):
        sel.add_diversifying_strategy(X32, 1.0 if kind != "mix_neg" else -0.5)
    if kind == "div_md":
        sel.add_diversifying_strategy(X32, 1.0, md)
    if kind in ("weights", "mix", "mix_neg"):
        sel.add_weighting_strategy(w, 2.0)
    if kind in ("balance", "mix", "mix_neg"):
        sel.add_balancing_strategy(C, t, 1.5 if kind != "mix_neg" else -1.0)
    if kind == "typicality":
        typ = np.asarray(mundig.Typicality(X32).calculate_typicality(3), dtype=np.float64)
        sel.add_weighting_strategy(typ, 1.0)
    if kind == "similarity":
        sim = np.asarray(mundig.Similarity(X32).calculate_similarity(Q), dtype=np.float64)
        sel.add_weighting_strategy(sim, 1.0)
    return list(sel.run_selection(pre, N, n))


def _config(kind, n, md):
    emb = {"type": "EMBEDDINGS"}
    div = {"input": emb, "strategy": {"type": "DIVERSITY"}}
    wts = {
        "input": {"type": "METADATA", "key": "w"},
        "strategy": {"type": "WEIGHTS"},
        "strength": 2.0,
    }
    bal = {
        "input": {"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"},
        "strategy": {"type": "BALANCE", "target": {"a": 0.5, "b": 0.3, "c": 0.2}},
        "strength": 1.5,
    }
    strategies = {
        "div": [div],
        "div_md": [
            {
                "input": emb,
                "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": md},
            }
        ],
        "weights": [wts],
        "balance": [bal],
        "typicality": [
            {"input": emb, "strategy": {"type": "TYPICALITY", "num_nearest_neighbors": 3}}
        ],
        "similarity": [
            {"input": {"type": "EMBEDDINGS", "tag_name": "q"}, "strategy": {"type": "SIMILARITY"}}
        ],
        "mix": [div, wts, bal],
        "mix_neg": [
            {**div, "strength": -0.5},
            wts,
            {**bal, "strength": -1.0},
        ],
    }[kind]
    return {"n_samples": n, "strategies": strategies}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(12))
def test_pick_order_equals_mundig(kind, seed):
    rng = np.random.default_rng(1000 * seed + KINDS.index(kind))
    N = int(rng.integers(12, 30))
    n = int(rng.integers(3, 10))
    X = rng.normal(size=(N, 4)).astype(np.float32)
    w = rng.random(N)
    C = rng.dirichlet(np.ones(3), size=N)
    t = np.array([0.5, 0.3, 0.2])
    Q = rng.normal(size=(3, 4)).astype(np.float32)
    pre_idx = sorted(rng.choice(N, size=2, replace=False).tolist()) if seed % 3 == 0 else []
    md = float(rng.uniform(0.8, 2.0))
    expected = _run_mundig(kind, X, w, C, t, Q, pre_idx, n, md)
    pre = np.zeros(N, bool)
    pre[pre_idx] = True
    data = ArrayData(
        embeddings={"default": X},
        metadata={"w": w},
        predictions={("t", "CLASS_DISTRIBUTION"): (C, ["a", "b", "c"])},
        queries={"q": Q},
        preselected=pre,
    )
    assert select(_config(kind, n, md), data).indices.tolist() == expected


def test_typicality_scores_equal_mundig():
    from curation.selection.kernels_knn import typicality_scores

    rng = np.random.default_rng(2)
    centers = rng.normal(size=(8, 16)) * 3
    X = (centers[rng.integers(0, 8, 3000)] + rng.normal(size=(3000, 16))).astype(np.float32)
    ours = typicality_scores(X, None, 20)
    ref = np.asarray(mundig.Typicality(X).calculate_typicality(20))
    assert np.abs(ours - ref).max() < 1e-5
