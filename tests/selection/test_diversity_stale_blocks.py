"""Stale rows brought up to date (``diversity_stale._update_group``) are read either gathered,
chunk by chunk, or, where the rows cover most of the universe and the picks are few (the first
picks' update of nearly every row), as contiguous slices of the universe whose results are
taken at the rows' offsets. Both reads must leave a valid state (``d`` within the float32
error of the exact distances, ``arg`` and the runner-up ``d2`` bounds holding, ``seen`` up to
date; the two GEMM shapes may round a value differently, never by more than the error), and
the cost model must choose the slices only where gathering costs more."""

from __future__ import annotations

import numpy as np
import pytest

from curation.benchmarks import engine_data as bench_data
from curation.selection import diversity_stale
from curation.selection.diversity import DiversityState
from tests.support.selection_reference import check_runner_up


def _state(X: np.ndarray, picks: int) -> DiversityState:
    st = DiversityState(X, None, lazy=True, prune=False)
    st.add(0)
    for _ in range(picks):
        T = st.near_max()
        st.add(int(T[int(np.argmax(st.exact_delta(T)))]))
    return st


def _caught_up(X: np.ndarray, picks: int, read: float, monkeypatch) -> tuple[DiversityState, list]:
    monkeypatch.setattr(diversity_stale, "READ", read)
    st = _state(X, picks)
    reads: list = []
    rows32 = st._rows32
    monkeypatch.setattr(st, "_rows32", lambda idx: reads.append(idx) or rows32(idx))
    st.catch_up_all()
    return st, reads


@pytest.mark.parametrize("picks", [1, 30])
def test_slices_and_gathers_leave_the_same_state(picks, monkeypatch):
    X = bench_data.sphere(3000, 24, seed=5)
    gathered, g_reads = _caught_up(X, picks, 0.0, monkeypatch)  # READ 0: always gathered
    sliced, s_reads = _caught_up(X, picks, 1e12, monkeypatch)  # free reads: slices at > n/2
    assert g_reads and all(not isinstance(r, slice) for r in g_reads)
    assert s_reads and all(isinstance(r, slice) for r in s_reads)
    assert sliced.selected == gathered.selected
    m = len(sliced.selected)
    for st in (gathered, sliced):
        live = st.d > -np.inf
        assert (st.seen[live] == m).all()
        assert check_runner_up(st, X) > 0
    np.testing.assert_allclose(sliced.d, gathered.d, rtol=0, atol=2 * sliced.err)


def test_the_cost_model_slices_only_few_picks_over_most_rows():
    X = bench_data.sphere(4000, 16, seed=1)
    st = _state(X, 0)
    rows = np.arange(1, 4000, dtype=np.int64)
    blocks = list(st._row_blocks(rows, 1, 1024))  # one pick, every row but the pick's: slices
    assert all(off is not None for _, _, _, off in blocks)
    np.testing.assert_array_equal(np.concatenate([r for r, _, _, _ in blocks]), rows)
    for r, blk, xx, off in blocks:
        np.testing.assert_array_equal(blk[off], X[r])
        np.testing.assert_array_equal(xx[off], st.xx[r])
    assert all(o is not None for *_, o in st._row_blocks(rows[:2400], 1, 1024))  # 60 %: slices
    assert all(o is None for *_, o in st._row_blocks(rows[::2], 200, 1024))  # many picks: gathers
    assert all(o is None for *_, o in st._row_blocks(rows[::3], 1, 1024))  # a third: gathers
