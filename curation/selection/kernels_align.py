"""Sample-id alignment: where each wanted id sits among the ids of a matrix's rows.

Every array that travels with an id array (an embedding matrix and its ``.ids.npy``, a run's
candidates, the map's points) is aligned through ``RowIndex``: ids must be unique (stored
spaces and primary keys are); rows come back as int64 positions into ``ids``. A lookup is a
binary search, O(m log n) for m wanted ids; building the index sorts ``ids`` once, and not at
all when they are already ascending (import order usually is id order). Nothing here knows
about Django: it is part of the engine's kernels (numpy only).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .kernels import I64

Mask = NDArray[np.bool_]


class AlignmentError(ValueError):
    """Wanted ids that have no row; the message names how many and the first few."""


class RowIndex:
    """Binary-search index of ``ids`` (unique, any order) for repeated lookups."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        n = len(self.ids)
        if n < 2 or bool(np.all(self.ids[1:] > self.ids[:-1])):
            self.order: I64 | None = None  # already ascending: no sort, no copy
            self.sorted_ids = self.ids
        else:
            self.order = np.argsort(self.ids, kind="stable").astype(np.int64)
            self.sorted_ids = self.ids[self.order]

    def find(self, wanted: np.ndarray) -> tuple[I64, Mask]:
        """For each of ``wanted``: its row in ``ids`` and whether ``ids`` holds it (the row of
        a missing id is 0, meaningless: select with the mask)."""
        wanted = np.asarray(wanted, dtype=np.int64)
        n = len(self.sorted_ids)
        if n == 0:
            return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
        pos = np.searchsorted(self.sorted_ids, wanted)
        clipped = np.minimum(pos, n - 1)
        found = (pos < n) & (self.sorted_ids[clipped] == wanted)
        rows = clipped if self.order is None else self.order[clipped]
        return np.asarray(rows, dtype=np.int64), found

    def rows(self, wanted: np.ndarray) -> I64:
        """Rows of the wanted ids that ``ids`` holds, in the order of ``wanted`` (the others
        are dropped)."""
        rows, found = self.find(wanted)
        return rows[found]

    def align(self, wanted: np.ndarray) -> I64:
        """Rows of every wanted id; ``AlignmentError`` when any of them has no row."""
        rows, found = self.find(wanted)
        if not found.all():
            missing = np.asarray(wanted, dtype=np.int64)[~found]
            first = ", ".join(str(int(i)) for i in missing[:5])
            more = ", ..." if len(missing) > 5 else ""
            raise AlignmentError(
                f"{len(missing)} of {len(found)} sample ids have no row ({first}{more}): "
                "store vectors for them first."
            )
        return rows

    def mask(self, wanted: np.ndarray) -> Mask:
        """Row mask of ``ids``: True where the row's id is one of ``wanted``."""
        out = np.zeros(len(self.ids), dtype=bool)
        out[self.rows(wanted)] = True
        return out


def align_rows(ids: np.ndarray, wanted: np.ndarray) -> I64:
    """Rows of ``ids`` holding each of ``wanted``, in order; ``AlignmentError`` names missing
    ids. One-off form of ``RowIndex(ids).align(wanted)``."""
    return RowIndex(ids).align(wanted)


def row_of(ids: np.ndarray, wanted: int) -> int | None:
    """The row holding the single id ``wanted``, or None (one linear scan: no sort)."""
    hits = np.flatnonzero(np.asarray(ids) == wanted)
    return int(hits[0]) if len(hits) else None
