"""A k-NN search's kept neighbours as packed keys: one uint64 per neighbour, the float32
squared distance's bits (clamped at +0, so they order like the value) above the neighbour's row.
Sorting or partitioning a row's keys orders them by distance, then by row, so a merge partitions
one array instead of partitioning values and gathering their rows twice (measured in the dense
search, 13k x 384: merges 0.060 -> 0.033 s of thread time). Used by every exact k-NN search
(``kernels_knn_dense``, ``kernels_knn_symmetric``, ``kernels_knn_clustered``) and the IVF search
(``kernels_knn_approx``); a row must fit the lower 32 bits.
"""

from __future__ import annotations

import numpy as np

from .kernels import I64


def merge_slots(rows: I64, kk: int) -> tuple[I64, I64, I64, int]:
    """Where candidates grouped by ascending row go in a merge buffer whose first ``kk``
    columns hold each row's kept values: the distinct rows, each candidate's buffer row and
    column, and the buffer's width."""
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    counts = np.diff(np.r_[starts, len(rows)])
    ridx = np.repeat(np.arange(len(starts)), counts)
    slot = kk + np.arange(len(rows)) - np.repeat(starts, counts)
    return rows[starts], ridx, slot, kk + int(counts.max())


VALUE_BITS = np.uint64(32)
NO_COLUMN = np.uint64(0xFFFFFFFF)
EMPTY = np.uint64(0x7F800000) << VALUE_BITS | NO_COLUMN  # +inf, no row


def pack(vals: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """One uint64 key per candidate: the float32 squared distance (clamped at +0, so its bits
    order like the value) above the column. Sorting or partitioning keys orders by distance,
    then by column; a row's keys are one array instead of a value and an index array."""
    clamped = np.maximum(vals, np.float32(0.0)).astype(np.float32)
    bits = clamped.view(np.uint32) & np.uint32(0x7FFFFFFF)  # whichever zero maximum gave
    return bits.astype(np.uint64) << VALUE_BITS | cols.astype(np.uint64)


def values(keys: np.ndarray) -> np.ndarray:
    return (keys >> VALUE_BITS).astype(np.uint32).view(np.float32)


def merge_keys(cur: np.ndarray, kth: np.ndarray, rows: I64, keys: np.ndarray) -> None:
    """Merge candidate keys, grouped by ascending row, into the ``kk`` smallest keys per row
    (``cur``) and refresh ``kth`` (the largest value kept)."""
    if not len(rows):
        return
    kk = cur.shape[1]
    urows, ridx, slot, width = merge_slots(rows, kk)
    buf = np.full((len(urows), width), EMPTY, dtype=np.uint64)
    buf[:, :kk] = cur[urows]
    buf[ridx, slot] = keys
    best = np.partition(buf, kk - 1, axis=1)[:, :kk]
    cur[urows] = best
    kth[urows] = values(best.max(axis=1))
