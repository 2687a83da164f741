"""``CentredRows``: the k-NN searches' centred blocks, read from the caller's matrix. A block,
sliced or gathered, plain or augmented, must hold exactly what a centred float32 copy holds
(the exact searches read blocks, the IVF search keeps the copy: the same float32 values either
way), for float32 and float64 matrices, all rows or a subset."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from curation.selection.kernels_knn_rows import CentredRows, as_centred, shift32


def _noop() -> None:
    return None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("subset", [False, True])
def test_blocks_hold_the_centred_copy_bit_for_bit(dtype, subset):
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(5000, 12)) * 3 + 40).astype(dtype)  # far from 0: centring matters
    rows = np.flatnonzero(np.arange(5000) % 3 != 1) if subset else None
    shift = shift32(X, rows, _noop)
    picked = X if rows is None else X[rows]
    assert shift.dtype == np.float32
    # any common shift serves; float32 sums per block keep it near the mean
    np.testing.assert_allclose(shift, picked.astype(np.float64).mean(axis=0), rtol=1e-4)
    Z = CentredRows(X, rows, shift)
    expected = picked.astype(np.float32) - shift  # one float32 rounding per difference
    np.testing.assert_array_equal(Z.block(0, Z.n), expected)
    assert Z.n == len(picked) and Z.dim == 12
    np.testing.assert_array_equal(Z.block(100, 2100), expected[100:2100])
    idx = np.array([7, 0, len(picked) - 1, 7])
    np.testing.assert_array_equal(Z.take(idx), expected[idx])
    zz = Z.norms(_noop, block=1000)
    np.testing.assert_allclose(zz, (expected.astype(np.float64) ** 2).sum(axis=1), rtol=1e-5)
    row_side = Z.augmented(slice(10, 20), zz, swap=False)
    col_side = Z.augmented(np.arange(30, 45), zz, swap=True)  # gathered: the same rows
    np.testing.assert_array_equal(row_side[:, :12], expected[10:20])
    assert (row_side[:, 12] == (-0.5 * zz[10:20]).astype(np.float32)).all()
    assert (row_side[:, 13] == 1).all() and (col_side[:, 12] == 1).all()
    # the product of the two sides is -d^2 / 2
    exact = ((expected[10:20, None, :].astype(np.float64) - expected[None, 30:45]) ** 2).sum(2)
    np.testing.assert_allclose(-2.0 * (row_side @ col_side.T), exact, rtol=1e-4, atol=1e-3)


def test_a_strided_matrix_is_never_copied_whole():
    # a view of every other column: np.take would copy it whole on every gather
    base = np.random.default_rng(1).normal(size=(20000, 64)).astype(np.float32)
    X = base[:, ::2]
    Z = CentredRows(X, None, np.zeros(32, dtype=np.float32))
    zz = Z.norms(_noop)
    idx = np.array([3, 19999, 7])
    tracemalloc.start()
    got = Z.augmented(idx, zz, swap=True)
    taken = Z.take(idx)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(got[:, :32], X[idx])
    np.testing.assert_array_equal(taken, X[idx])
    assert peak < X.nbytes / 10


def test_an_array_is_taken_as_rows_already_centred():
    Z = np.random.default_rng(2).normal(size=(300, 5)).astype(np.float32)
    rows = as_centred(Z)
    assert as_centred(rows) is rows
    np.testing.assert_array_equal(rows.block(0, 300), Z)
    np.testing.assert_array_equal(rows.take(np.array([299, 0])), Z[[299, 0]])
