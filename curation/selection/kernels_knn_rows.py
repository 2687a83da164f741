"""The k-NN searches' view of the mean-centred matrix, read block by block instead of copied.

``CentredRows`` holds the caller's matrix ``X`` (float32 or float64, possibly memory-mapped),
the universe's rows of it (None: all) and a common float32 shift (``shift32``: the rows'
float32 mean). A block is ``fl32(X[row]) - shift`` in float32, the same values a centred
float32 copy of the whole matrix would hold, so every search that reads blocks computes
exactly what it would on such a copy; only blocks of bounded size are allocated. Every k-NN search
(``kernels_knn_dense``, ``kernels_knn_symmetric``, ``kernels_knn_clustered`` and the IVF
search of ``kernels_knn_approx``) reads its blocks here, so its extra memory is O(N) plus its
blocks rather than a second matrix (figures in ``kernels_knn``).
"""

from __future__ import annotations

import numpy as np

from .kernels import F64, I64, Check, gather_rows


def shift32(X: np.ndarray, rows: I64 | None, check: Check) -> np.ndarray:
    """The rows' mean as float32: any common shift keeps every difference's one rounding; the
    mean makes the centred norms (and so the float32 error bound) small. Direct float32 rows
    are summed in float32 per block of 16,384 (5x faster), others in float64."""
    n = X.shape[0] if rows is None else len(rows)
    mean = np.zeros(X.shape[1], dtype=np.float64)
    direct = rows is None and X.dtype == np.float32
    block = 16384 if direct else 4096  # a gathered block is a transient copy: keep it small
    for a in range(0, n, block):
        check()
        if direct:
            mean += X[a : a + block].sum(axis=0)
        else:
            src = slice(a, a + block) if rows is None else rows[a : a + block]
            mean += np.asarray(X[src], dtype=np.float32).sum(axis=0, dtype=np.float64)
    return np.asarray((mean / max(n, 1)).astype(np.float32))


class CentredRows:
    """Blocks of the centred float32 rows of ``X`` (see the module)."""

    def __init__(self, X: np.ndarray, rows: I64 | None, shift: np.ndarray) -> None:
        self.X, self.rows, self.shift = X, rows, shift
        self.n = X.shape[0] if rows is None else len(rows)
        self.dim = X.shape[1]

    def _into(self, out: np.ndarray, src: slice | I64) -> None:
        rows = gather_rows(self.X, None, src, self.X.dtype.type)  # never a strided X whole
        np.subtract(rows, self.shift, out=out, dtype=np.float32, casting="unsafe")

    def block(self, a: int, b: int) -> np.ndarray:
        """Universe positions ``a..b-1``, centred, (b - a, D) float32."""
        out = np.empty((b - a, self.dim), dtype=np.float32)
        self._into(out, slice(a, b) if self.rows is None else self.rows[a:b])
        return out

    def take(self, idx: I64) -> np.ndarray:
        """Universe positions ``idx``, centred, (len(idx), D) float32."""
        out = np.empty((len(idx), self.dim), dtype=np.float32)
        self._into(out, idx if self.rows is None else self.rows[idx])
        return out

    def augmented(self, idx: slice | I64, zz: F64, swap: bool) -> np.ndarray:
        """Positions ``idx`` (a slice of positions or an index array) as
        ``[z, -|z|^2/2, 1]`` (``swap``: ``[z, 1, -|z|^2/2]``, the other side of the product
        that gives ``-d^2/2``), float32; ``zz = |z|^2``."""
        half = -0.5 * zz[idx]
        out = np.empty((len(half), self.dim + 2), dtype=np.float32)
        self._into(out[:, : self.dim], idx if self.rows is None else self.rows[idx])
        out[:, self.dim] = 1.0 if swap else half
        out[:, self.dim + 1] = half if swap else 1.0
        return out

    def norms(self, check: Check, block: int = 4096) -> F64:
        """``|z|^2`` of every position (float32 sums, as float64)."""
        out = np.empty(self.n, dtype=np.float64)
        for a in range(0, self.n, block):
            check()
            Z = self.block(a, min(self.n, a + block))
            out[a : a + len(Z)] = np.einsum("ij,ij->i", Z, Z)
        return out


# a centred float32 matrix already in memory, or the rows of one read in blocks
Rows = np.ndarray | CentredRows


def as_centred(Z: Rows) -> CentredRows:
    """``Z`` as ``CentredRows``: an array is taken as rows already centred (shift 0: each
    block then holds exactly its rows)."""
    if isinstance(Z, CentredRows):
        return Z
    return CentredRows(Z, None, np.zeros(Z.shape[1], dtype=np.float32))
