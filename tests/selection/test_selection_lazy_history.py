"""Diversity alone defers its bookkeeping: the nearest-neighbour sums ``A(S)`` and the picks'
deltas are settled in vectorised blocks, and a pick is decided from exact deltas without
``A`` unless a rounding tie could hide in ``log(A + delta)``. These must equal the per-pick
(eager) evaluation exactly, and the explanation must be ``log(A + delta)`` of brute force."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from curation.selection import ArrayData, kernels, select
from curation.selection.diversity import DiversityState


def _points(kind: str, n: int = 3000, dim: int = 12) -> np.ndarray:
    rng = np.random.default_rng(3)
    if kind == "duplicates":  # every point 3 times: zero nearest distances within picks
        return np.repeat(rng.normal(size=(n // 3, dim)).astype(np.float32), 3, axis=0)
    if kind == "grid":  # small integers: exactly tied distances everywhere
        return rng.integers(-2, 3, size=(n, dim)).astype(np.float32)
    return rng.normal(size=(n, dim)).astype(np.float32)


@pytest.mark.parametrize("chunk", [kernels.PAIR_CHUNK, 40])  # 40: 3 pairs a chunk
@pytest.mark.parametrize("kind", ["normal", "duplicates", "grid"])
def test_deferred_history_equals_the_per_pick_values(kind, chunk, monkeypatch):
    monkeypatch.setattr(kernels, "PAIR_CHUNK", chunk)
    X = _points(kind)
    order = np.random.default_rng(5).permutation(len(X))[:700]  # over several blocks
    lazy = DiversityState(X, lazy=True, prune=False)
    eager = DiversityState(X, lazy=False, prune=False)
    A_eager, delta_eager = [], []
    for k, pos in enumerate(order.tolist()):
        A_eager.append(eager.A)
        if k:
            delta_eager.append(float(eager.exact_delta(np.asarray([pos]))[0]))
        eager.add(pos)
        lazy.add(pos)
        if k == 350:  # a catch-up in the middle, as a tie in the argmax would ask for
            assert lazy.A == eager.A
    A, delta = lazy.history(np.arange(1, len(order)))
    assert A.tolist() == A_eager[1:]
    assert delta.tolist() == delta_eager
    assert lazy.A == eager.A
    np.testing.assert_array_equal(lazy._nn[: len(order)], eager._nn[: len(order)])


def _brute_explanation(X: np.ndarray, picks: np.ndarray) -> np.ndarray:
    X64 = X[picks].astype(np.float64)
    out = [np.nan]
    for k in range(1, len(picks)):
        diff = X64[:k] - X64[k]
        delta = (diff * diff).sum(axis=1).min()
        A = 0.0
        if k > 1:
            D = ((X64[:k, None, :] - X64[None, :k, :]) ** 2).sum(axis=2)
            np.fill_diagonal(D, np.inf)
            A = D.min(axis=1).sum()
        out.append(np.log(A + delta))
    return np.asarray(out)


@pytest.mark.parametrize("kind", ["normal", "duplicates", "grid"])
def test_diversity_alone_explains_every_pick_with_brute_force_values(kind):
    X = _points(kind, n=1200)
    cfg = {
        "n_samples": 120,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    }
    res = select(cfg, ArrayData(embeddings={"default": X}))
    assert len(res.indices) == 120
    assert res.explanation.shape == (120, 1)
    expected = _brute_explanation(X, res.indices)
    assert np.isnan(res.explanation[0, 0])
    np.testing.assert_allclose(res.explanation[1:, 0], expected[1:], rtol=1e-12, atol=0)


def test_equal_best_deltas_go_to_the_lowest_position_without_asking_for_A():
    # rows 5 and 9 are the same point, far from the rest: after the first pick both are the
    # farthest with exactly equal deltas; the lowest position wins, as the argmax breaks ties,
    # and the deferred nearest-neighbour state is not brought up to date for it
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    X[5] = X[9] = 40.0
    st = DiversityState(X, lazy=True, prune=False, frontier=16)
    st.add(0)
    st.add(1)
    T = st.near_max()
    assert {5, 9} <= set(T.tolist())
    assert st.decide(T) == 5
    assert st._nn_done == 0


def test_the_deferred_history_keeps_its_float64_temporaries_small():
    # 1,000 picks of 768-dimensional points: the nearest-neighbour sums evaluate a few
    # thousand pairs in float64; gathered whole, their rows took about 20 MiB (7 MiB now)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(3000, 768)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    st = DiversityState(X, lazy=True, prune=False)
    for pos in rng.permutation(len(X))[:1000].tolist():
        st.add(pos)
    tracemalloc.start()
    try:
        _, delta = st.history(np.arange(1, 1000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20
    S = X[st.selected].astype(np.float64)
    last = ((S[:999] - S[999]) ** 2).sum(axis=1).min()
    assert delta[-1] == pytest.approx(last, rel=1e-14)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        [{"input": {"type": "SCORES", "task": "t", "score": "s"}, "strategy": {"type": "WEIGHTS"}}],
    ],
)
def test_a_selection_sizes_the_picks_buffers_once(monkeypatch, extra):
    # select() knows how many picks it needs: the state's buffers never grow (each growth
    # copied every pick so far), in the lazy mode and in the eager one
    def no_growth(self):
        raise AssertionError("the picks' buffers grew")

    monkeypatch.setattr(DiversityState, "_grow", no_growth)
    X = _points("normal", n=2000)
    scores = {("t", "s"): np.random.default_rng(1).random(len(X))}
    cfg = {
        "n_samples": 300,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            *extra,
        ],
    }
    res = select(cfg, ArrayData(embeddings={"default": X}, scores=scores))
    assert len(res.indices) == 300
    direct = DiversityState(X, lazy=True)  # no capacity given: 16, then it grows
    assert len(direct._sel_buf) == 16


@pytest.mark.parametrize(
    "dtype, row_bytes, at_least",
    # a float32 matrix keeps its picks' rows once (float32), a float64 one also in float64
    [(np.float32, 4 * 512 + 24, 30_000), (np.float64, 12 * 512 + 24, 10_000)],
)
def test_the_picks_buffers_start_at_most_64_mib(dtype, row_bytes, at_least):
    X = np.zeros((40_000, 512), dtype=dtype)  # 40,000 picks asked for: 80-240 MiB
    st = DiversityState(X, lazy=True, capacity=40_000)
    assert (st._sel_buf is st._sel32) == (dtype == np.float32)
    assert len(st._sel32) * row_bytes <= 64 << 20
    assert len(st._sel32) > at_least
    assert len(DiversityState(X[:100], lazy=True, capacity=40_000)._sel_buf) == 100


@pytest.mark.parametrize("kind", ["normal", "duplicates", "grid"])
@pytest.mark.parametrize("extra", [False, True])
@pytest.mark.parametrize("subset", [False, True])
def test_float32_picks_give_the_float64_matrix_results_bit_for_bit(kind, extra, subset):
    # a float32 matrix keeps its picks only in float32 and converts them for every float64
    # evaluation; the same values given as float64 (kept twice) must give the same picks and
    # the same explanation, to the last bit, alone (lazy) and with weights (eager), on every
    # row or on a masked subset (the state then reads its rows through an index)
    X32 = _points(kind, n=1500, dim=24)
    masked = (np.arange(len(X32)) % 7 == 3) if subset else None
    scores = {("t", "s"): np.random.default_rng(2).random(len(X32))}
    strategies = [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}]
    if extra:
        scored = {"type": "SCORES", "task": "t", "score": "s"}
        strategies.append({"input": scored, "strategy": {"type": "WEIGHTS"}})
    cfg = {"n_samples": 400, "strategies": strategies}
    got = [
        select(cfg, ArrayData(embeddings={"default": X}, scores=scores, masked=masked))
        for X in (X32, X32.astype(np.float64))
    ]
    if masked is not None:  # the subset: no masked row picked
        assert not masked[got[0].indices].any()
    assert got[0].indices.tolist() == got[1].indices.tolist()
    np.testing.assert_array_equal(got[0].explanation, got[1].explanation)


def test_a_small_selection_stays_near_the_matrix_in_memory():
    # 1,000 picks of 3,000 rows (384 dimensions): the picks' rows once in float32 and the
    # nearest-neighbour sums' blocks sized to the matrix; float64 copies of the picks and
    # 256-pick blocks took 2.8x the 4.4 MiB matrix
    rng = np.random.default_rng(9)
    X = rng.normal(size=(3000, 384)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    cfg = {
        "n_samples": 1000,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    }
    data = ArrayData(embeddings={"default": X})
    tracemalloc.start()
    try:
        res = select(cfg, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(res.indices) == 1000
    assert peak < 1.4 * X.nbytes
