"""The probe that tells ``DiversityState`` when clusters would pay (see ``diversity``).

It estimates, on a fixed sample of 512 points with their current ``d``, the share of
(point, pick) updates that the cluster bound would skip: a point is skipped only with its whole
cluster, so ``||P x - P s|| - 2 r`` stands in for the cluster's bound (``P``: the PCA basis the
clusters would use; ``r``: the median radius of the balls around sample points that hold a
cluster's share of the points).

Its fixed part (the PCA basis on 2,048 rows with every BLAS thread, the sample's projection
and ``r``: ~6 ms on 13k x 384) is computed once, on the first probe. Computing it on a second
thread while the selection kept picking was measured slower (16 ms there, and the picks
slowed by sharing memory bandwidth: 13k x 384 isotropic 0.117 -> 0.119 s).
"""

from __future__ import annotations

import math

import numpy as np

from .kernels import F64, I64, pca_basis
from .kernels_blas import all_blas_threads

PCA_SAMPLE = 2048
PROBE_SAMPLE = 512


class ClusterProbe:
    """The PCA basis of a matrix and the probe's sample (see the module)."""

    def __init__(self, X: np.ndarray, rows: I64 | None, proj_dim: int, n_clusters: int) -> None:
        self.X, self.rows = X, rows
        self.n = X.shape[0] if rows is None else len(rows)
        self.proj_dim = proj_dim
        self.n_clusters = n_clusters
        self._base: tuple[F64, F64, I64, F64, float] | None = None

    def _ready(self) -> tuple[F64, F64, I64, F64, float]:
        if self._base is None:  # a few small products: every BLAS thread
            with all_blas_threads():
                self._base = self._compute()
        return self._base

    def _compute(self) -> tuple[F64, F64, I64, F64, float]:
        mean, basis = pca_basis(self.X, self.rows, self.proj_dim, sample=PCA_SAMPLE)
        rng = np.random.default_rng(1)
        idx = np.sort(rng.choice(self.n, size=min(self.n, PROBE_SAMPLE), replace=False))
        src = idx if self.rows is None else self.rows[idx]
        Y = (np.take(self.X, src, axis=0).astype(np.float64) - mean) @ basis.T
        Y32 = Y.astype(np.float32)  # the radius is an estimate: float32 is plenty
        yy = np.einsum("ij,ij->i", Y32, Y32)
        D2 = Y32 @ Y32.T
        D2 *= -2.0
        D2 += yy[:, None]
        D2 += yy[None, :]
        np.fill_diagonal(D2, 0.0)
        q = int(min(len(idx) - 1, max(1, round(len(idx) / self.n_clusters))))
        kth = np.partition(D2, q, axis=1)[:, q]
        radius = math.sqrt(max(float(np.median(kth)), 0.0))
        return mean, basis, idx.astype(np.int64), Y, radius

    def pca(self) -> tuple[F64, F64]:
        """Mean and orthonormal (proj_dim, D) basis of the top principal directions."""
        mean, basis, _, _, _ = self._ready()
        return mean, basis

    def share(self, d: F64, S: F64, err: float) -> float:
        """Estimated share of the updates of the sample points (their current ``d``) by the
        picks ``S`` (rows, float64) that the cluster bound would skip."""
        mean, basis, idx, Y, radius = self._ready()
        dk = d[idx]
        ok = np.isfinite(dk)
        if not ok.any():
            return 0.0
        Yk, Q = Y[ok], (S - mean) @ basis.T
        yy, qq = np.einsum("ij,ij->i", Yk, Yk), np.einsum("ij,ij->i", Q, Q)
        lb = yy[:, None] + qq[None, :] - 2.0 * (Yk @ Q.T)  # an estimate: rounding is harmless
        root = np.sqrt(np.maximum(lb, 0.0)) - 2.0 * radius
        lb = np.maximum(root, 0.0) ** 2
        return float((lb > dk[ok][:, None] + err).mean())
