"""Exact farthest-point (diversity) state: lazy frontier, batched updates, adaptive pruning.

``DiversityState`` keeps, for every universe point, ``d[i]`` = a float32-accurate min squared
Euclidean distance to the selected points it has been updated with. Every distance carries at
most ``err`` of float32 rounding, so the final decisions (argmax, stopping, the explanation) use
float64 distances computed directly from the vectors: the result equals a float64 evaluation.

How it stays at least as fast as a plain loop (one GEMV per pick over the whole matrix):

- Updates are applied in batches (``_apply``): one GEMM against up to ``MAX_PENDING`` picks
  reads the matrix once instead of once per pick. Clusters (k-means in a PCA projection) are
  built only when a probe on a fixed sample measures that the projection's non-expansive bound
  (``||x - s|| >= ||P x - P s||``) would skip ``PROBE_SHARE`` of the updates and the full passes
  have cost about as much as clustering: never on isotropic data or in short runs. With
  clusters, the triangle inequality (``||x - s|| >= ||P s - c_G|| - r_G``) tells which
  clusters a pick can still lower; a cost model of the measured pruning (rows x picks needed,
  gathers, calls) chooses per batch between pruned per-cluster products and one full pass with
  every BLAS thread. The same bound prunes the frontier's per-pick update and the float64
  scans of the selection (each rests after it stops paying).
- ``lazy`` mode (diversity alone, positive strength): only a *frontier* (the ``L`` points with
  the largest ``d``) is updated at every pick. Every other point has ``d <= tau`` (the largest
  value outside the frontier), and ``d`` only decreases, so while the frontier's best value
  exceeds ``tau + 2 err`` no outside point can be (or tie with) the maximum. When it cannot
  decide, the pending picks are applied to everyone and the frontier is rebuilt, wider if it
  served too few picks. A pick is settled from exact deltas alone (candidates ordered by an
  upper bound: the exact distance to the pick that last lowered them, remembered in ``arg``);
  ``A(S)`` is needed only on a rounding tie. The nearest-neighbour sums ``A(S)`` and the
  picks' deltas (the explanation) are computed later in vectorised blocks (``_nn_block``).
- ``stale`` bounds (the default for lazy mode until clusters pay, and for eager mode when
  every diversity strength is positive): a point's ``d`` covers only the first ``seen[i]``
  picks, an upper bound of its exact value. Lazy refreshes bring up to date only the points
  whose bound can reach the frontier, eager steps only the candidates whose bound can reach
  the best exact value (``Objective._refine``); most points fall below the shrinking maximum
  early and are never touched again (measured: 39-47 % of the (point, pick) updates on
  unclustered 13k x 384, 12-18 % on clustered 100k x 512, against 85-98 % and a pass per
  pick before). A switch to clusters brings every point up to date first.
- Modules: this one holds the state, the clustering and the cost model; ``diversity_passes``
  the full and pruned passes; ``diversity_frontier`` the lazy frontier and ``near_max``;
  ``diversity_stale`` the stale bounds; ``diversity_probe`` the probe that tells when
  clusters pay; ``diversity_exact`` the selected set and its exact float64 distances.
- The matrix is never copied when it is float32 and contiguous (extra memory stays O(N)
  plus the picks' own rows, kept once in float32 for a float32 matrix, and blocks of the
  deferred nearest-neighbour sums sized to the matrix: 3k x 384, n = 1000 peaks at 1.14x the
  matrix, 2.83x with float64 copies of the picks and fixed blocks); eager mode (several
  terms) adds one float32 copy in cluster order once clusters exist, so that its per-pick
  pruned updates read contiguous runs.
"""

from __future__ import annotations

import math

import numpy as np

from .diversity_exact import SelectionSet
from .diversity_frontier import LazyFrontier
from .diversity_passes import READ, BatchedPasses
from .diversity_probe import ClusterProbe
from .diversity_stale import StaleBounds
from .kernels import F64, I64, Check, _noop, _projected_clusters, row_sq_norms

_U32 = 2.0**-24
MAX_PENDING = 256
# cost model (arbitrary units ~ one float32 multiply-add): one call (reading one element: READ)
# cluster once the projection bound rules out this share of point updates on the probe sample
# (measured: ~0 on isotropic data, 0.1-0.15 on TF-IDF text, 0.25-0.6 early on mixtures)
PROBE_SHARE = 0.25
_CALL = 200_000.0


def _frontier_size(n: int) -> int:
    return int(min(n, max(256, min(4096, 4 * round(math.sqrt(n))))))


class DiversityState(BatchedPasses, StaleBounds, LazyFrontier, SelectionSet):
    """Min squared distance of every universe point to the selected set.

    ``X`` is the caller's matrix (float32 or float64, possibly memory-mapped); ``rows`` maps
    universe positions to rows of ``X`` (None: all rows, in order). Positions are universe
    positions throughout. ``lazy`` enables the frontier (only valid for ``near_max``; ``d`` is
    then an upper bound for the points outside the frontier, not a two-sided approximation).
    """

    def __init__(
        self,
        X: np.ndarray,
        rows: I64 | None = None,
        *,
        n_clusters: int | None = None,
        proj_dim: int = 64,
        check: Check = _noop,
        copy_limit: int = 1 << 30,
        lazy: bool = False,
        frontier: int | None = None,
        prune: bool | None = None,
        stale: bool | None = None,
        capacity: int = 16,
    ) -> None:
        self.X = X
        self.rows = rows
        self.n = n = X.shape[0] if rows is None else len(rows)
        self.dim = X.shape[1]
        self.check = check
        self.xx = row_sq_norms(X, rows, check=check)
        max_sq = float(self.xx.max()) if n else 0.0
        # |fl32(||x||^2 + ||s||^2 - 2 x.s) - exact| (dot product error, inputs rounded to
        # float32), plus slack for the float64 parts
        self.err = 4.0 * (self.dim + 4) * _U32 * max_sq * 1.01 + 1e-300
        # float32 rows in universe order: the caller's matrix itself when it already is one,
        # else a copy up to copy_limit bytes, else None (blocks are gathered on the fly)
        self.M: np.ndarray | None = None
        self.Mc: np.ndarray | None = None
        self._copy_limit = copy_limit
        if rows is None and X.dtype == np.float32 and X.flags.c_contiguous:
            self.M = X
        elif n * self.dim * 4 <= copy_limit:
            self.M = np.empty((n, self.dim), dtype=np.float32)
            for a in range(0, n, 16384):
                check()
                src = slice(a, a + 16384) if rows is None else rows[a : a + 16384]
                self.M[a : a + 16384] = X[src]
        self.n_clusters = n_clusters or int(min(1024, max(1, round(math.sqrt(n)))))
        self.proj_dim = proj_dim
        # clusters are built (prune=None) once a probe measures that a projection bound would
        # skip PROBE_SHARE of the (point, pick) updates on a sample; at once with
        # prune=True; never with prune=False or too few points to split
        self._can_cluster = prune is not False and n >= 4096 and self.n_clusters > 1
        # ... and once the full passes have cost about as much as the clustering would
        # (projection + k-means assignment, in multiply-adds): a short run never pays for it
        self._cluster_cost = n * proj_dim * (self.dim + 2 * self.n_clusters)
        self._spent = 0.0
        self.probe = ClusterProbe(X, rows, proj_dim, self.n_clusters)
        self._probe_next = 0
        self._probe_gap = 1
        self._set_clusters(np.zeros(n, dtype=np.int64), np.zeros((1, self.dim)), np.zeros(1))
        self.basis = np.zeros((0, self.dim))
        self.mean = np.zeros(self.dim)
        self.d = np.full(n, np.inf, dtype=np.float64)
        self.lazy = lazy
        # stale per-point upper bounds (``diversity_stale``; lazy mode without clusters, or
        # eager mode when the caller only needs upper bounds of ``d``); otherwise every pick
        # is applied to every point, batched in ``pending``
        self.stale = bool(lazy if stale is None else stale) and not prune
        self.seen = np.zeros(n if self.stale else 0, dtype=np.int32)
        self.pending: list[int] = []
        self._pend32 = np.empty((MAX_PENDING, self.dim), dtype=np.float32)
        self._pend_ss = np.empty(MAX_PENDING, dtype=np.float64)
        self.L = min(n, frontier) if frontier else _frontier_size(n)
        self.F: I64 | None = None
        self._pick_vec = np.ones(self.dim + 2, dtype=np.float32)  # [-2 s, 1, ||s||^2]
        self._pick_head = self._pick_vec[: self.dim]
        self._served = 0
        self.tau = np.inf
        self.selected: list[int] = []
        # the picks' buffers, for ``capacity`` picks (the caller's n: no copy as they grow),
        # at most 64 MiB up front (a run that may stop early asks for every point); they
        # double when that is exceeded. The picks' rows are kept once, in float32, when the
        # matrix is float32 (``_sel_buf`` is then ``_sel32``: every float64 evaluation
        # converts them exactly); a float64 matrix keeps its float64 rows as well
        self._own64 = X.dtype != np.float32
        row_bytes = (12 if self._own64 else 4) * self.dim + 24
        cap = max(16, min(n, capacity, (64 << 20) // row_bytes))
        self._sel32 = np.empty((cap, self.dim), dtype=np.float32)
        self._sel_buf = np.empty((cap, self.dim)) if self._own64 else self._sel32
        self._sel_sq = np.empty(cap, dtype=np.float64)
        self._sel_ss = np.empty(cap, dtype=np.float64)  # float64 norms of the picks
        self._nn = np.empty(cap, dtype=np.float64)  # nn squared distance within the selection
        self._nn_done = 0
        # the deferred nearest-neighbour sums work on blocks of (new picks x picks) pairs,
        # about 22 bytes each in temporaries: a 16th of the matrix's elements per block keeps
        # them near a third of its float32 size (at most 1M pairs, at least 64k)
        self._hist_cells = int(min(1_000_000, max(1 << 16, n * self.dim // 16)))
        self._A_hist: list[float] = [0.0]
        self._delta_hist: list[float] = []
        self._known: dict[int, float] = {}  # exact deltas that decided a lazy pick
        # upper bound of A (A <= 2 sum of the picks' deltas), for the tie margin in decide()
        self._a_bound = 0.0
        self._far = 4.0 * max_sq * 1.01 + 1e-300
        # lazy: a selection index whose pick is (usually) each point's nearest, or -1; any
        # pick's exact distance bounds delta from above, so it only steers decide()
        self.arg = np.full(n if lazy else 0, -1, dtype=np.int64)
        # lazy stale states also keep ``d2``, a lower bound of each point's squared distance to
        # every pick but ``arg`` (``d2F`` on the frontier): where it exceeds ``d + 2 err``, that
        # pick is provably the nearest, and ``decide`` needs no product against the selection
        self.second = self.lazy and self.stale
        self.d2 = np.full(n if self.second else 0, np.inf, dtype=np.float64)
        self.d2F = np.zeros(0, dtype=np.float64)
        self._cache: tuple[int, I64, np.ndarray] | None = None
        self._sel_proj = np.empty((cap, 0))  # projections of the selected (with clusters)
        self._pf_slack = 1e-9 * max_sq
        self._pf_rest = 1
        self._pf_next = 0
        self._fb_rest = 1
        self._fb_next = 0
        self.touched = 0  # distance evaluations, for benchmarks
        self.stats = {"full_passes": 0, "pruned_passes": 0, "refreshes": 0}
        if prune and self._can_cluster:
            self._cluster()

    def _set_clusters(self, labels: I64, centers: F64, radius: F64) -> None:
        counts = np.bincount(labels, minlength=len(centers))
        keep = counts > 0
        if not keep.all():
            labels = (np.cumsum(keep) - 1)[labels]
            centers, radius, counts = centers[keep], radius[keep], counts[keep]
        self.centers, self.radius = centers, radius
        self.k = len(centers)
        self.counts = counts.astype(np.float64)
        self.perm = np.argsort(labels, kind="stable").astype(np.int64)  # positions by cluster
        self.starts = np.zeros(self.k + 1, dtype=np.int64)
        np.cumsum(counts, out=self.starts[1:])
        self.cluster_of = labels
        self.cmax = np.full(self.k, np.inf, dtype=np.float64)

    def _pca(self) -> tuple[F64, F64]:
        if not len(self.basis):
            self.mean, self.basis = self.probe.pca()
        return self.mean, self.basis

    def _prunable(self, S: F64) -> float:
        """Estimated share of (point, pick) updates the cluster bound would skip
        (``diversity_probe``)."""
        return self.probe.share(self.d, S, self.err)

    def _probe_due(self, m: int) -> bool:
        return self._can_cluster and m >= self._probe_next and self._spent >= self._cluster_cost

    def _cluster(self) -> None:
        """k-means in a PCA projection; the current ``d`` (upper bounds) give ``cmax``."""
        self._can_cluster = False
        labels, centers, radius, self.mean, self.basis = _projected_clusters(
            self.X,
            self.rows,
            self.n_clusters,
            self.proj_dim,
            self.check,
            math.sqrt(float(self.xx.max())),
            self._pca(),
        )
        self._set_clusters(labels, centers, radius)
        m = len(self.selected)
        self._sel_proj = np.empty((len(self._sel_buf), len(self.basis)))
        self._sel_proj[:m] = (self._sel_buf[:m] - self.mean) @ self.basis.T
        if self.k > 1:
            self.cmax = np.maximum.reduceat(self.d[self.perm], self.starts[:-1])
        # eager mode prunes every single pick: a float32 copy in cluster order turns its
        # cluster gathers into contiguous runs (one extra matrix, up to copy_limit bytes)
        if not self.lazy and self.k > 1 and self.n * self.dim * 4 <= self._copy_limit:
            self.Mc = np.empty((self.n, self.dim), dtype=np.float32)
            for a in range(0, self.n, 16384):
                self.check()
                self.Mc[a : a + 16384] = self._rows32(self.perm[a : a + 16384])

    def _maybe_cluster(self) -> None:
        """Stale mode: the probe of ``_apply`` (clusters once a projection bound would skip
        ``PROBE_SHARE`` of the updates); clustering brings every point up to date first and
        leaves stale mode."""
        m = len(self.selected)
        if not self._probe_due(m):
            return
        if self._prunable(self._sel_buf[max(0, m - 64) : m]) >= PROBE_SHARE:
            self.catch_up_all()
            self.stale = self.second = False
            self._cluster()
        else:  # probe again later (d keeps shrinking, pruning gets easier); the stale
            # bounds already skip most updates, so probes grow rare faster
            self._probe_gap = min(256, 4 * self._probe_gap)
            self._probe_next = m + self._probe_gap

    def add(self, pos: int, check: Check = _noop) -> None:
        """Add universe position ``pos`` to the selection (updates ``d``, lazily if lazy)."""
        s64 = self.vector(pos)
        s32 = s64.astype(np.float32)
        m = len(self.selected)
        if m == len(self._sel_buf):
            self._grow()
        ss = float(s64 @ s64)
        j = -1  # the pick's place in the frontier
        if self.lazy:  # nearest neighbours within the selection: deferred (see A, history)
            ub = self._known.get(m, self._far)
            if self.F is not None:
                j = int(self.F.searchsorted(pos))
                j = j if j < len(self.F) and self.F[j] == pos else -1
                if j >= 0 and m not in self._known:
                    ub = min(ub, float(self.dF[j]) + 2.0 * self.err)
            self._a_bound += 2.0 * ub
        else:
            self._update_nn(pos, s64, s32, ss)
            self._nn_done = m + 1
        self._cache = None
        self._sel32[m] = s32
        if not self._own64:  # the float32 row is the row itself: the same norm
            self._sel_sq[m] = ss
        else:
            self._sel_buf[m] = s64
            s32d = s32.astype(np.float64)
            self._sel_sq[m] = float(s32d @ s32d)
        self._sel_ss[m] = ss
        if self.k > 1:
            self._sel_proj[m] = (s64 - self.mean) @ self.basis.T
        self.selected.append(int(pos))
        if not self.stale:
            p = len(self.pending)
            self._pend32[p] = s32
            self._pend_ss[p] = ss
            self.pending.append(int(pos))
        self.d[pos] = -np.inf
        if not self.lazy:
            self._flush(check)
            return
        if self.F is not None:  # keep the frontier exact
            self._update_frontier(s64, s32, ss)
            if j >= 0:
                self.dF[j] = -np.inf
            self._served += 1
        if len(self.pending) == MAX_PENDING:
            if self.F is not None:  # it served every pending pick: try a narrower one
                self.L = max(min(self.n, 256), (3 * self.L) // 4)
            self._refresh(check)

    def _lower_bounds(self, S: F64) -> F64:
        """Squared lower bounds of ``||x - s||`` for x in each cluster, (len(S), k)."""
        proj = (S - self.mean) @ self.basis.T
        pp = np.einsum("ij,ij->i", proj, proj)
        cc = np.einsum("ij,ij->i", self.centers, self.centers)
        sq = pp[:, None] + cc[None, :] - 2.0 * (proj @ self.centers.T)
        sq -= 1e-12 * (pp[:, None] + cc[None, :])  # rounding of the expanded form
        lb = np.maximum(np.sqrt(np.maximum(sq, 0.0)) - self.radius, 0.0)
        lb *= 1.0 - 1e-9
        return np.asarray(lb * lb)

    # ------------------------------------------------------------------ batched updates
    def _flush(self, check: Check) -> None:
        p = len(self.pending)
        if p:
            self._apply(self._pend32[:p], self._pend_ss[:p], check)
            for pos in self.pending:
                self.d[pos] = -np.inf
            self.pending = []

    def _refresh(self, check: Check) -> None:
        if self.stale:  # the next near_max brings what it needs up to date
            self._write_back()
            return
        if self.F is not None:
            self.d[self.F] = self.dF
            self.arg[self.F] = self.aF
            self.F = None
        self._flush(check)
        self.stats["refreshes"] += 1

    def _apply(self, P32: np.ndarray, pss: F64, check: Check) -> None:
        """``d = min(d, ||x - p||^2)`` for every point and every pick in ``P32``."""
        p, n = len(P32), self.n
        full_cost = n * self.dim * (READ + p)
        m = len(self.selected)
        if self._probe_due(m):
            if self._prunable(self._sel_buf[m - p : m][-64:]) >= PROBE_SHARE:
                self._cluster()
            else:  # probe again later (d keeps shrinking, pruning gets easier)
                self._probe_gap = min(64 if self.lazy else 8, 2 * self._probe_gap)
                self._probe_next = m + self._probe_gap
        if self.k > 1:
            S = self._sel_buf[len(self.selected) - p : len(self.selected)]
            need = self._lower_bounds(S) <= self.cmax[None, :] + self.err
            per = need.sum(axis=0)
            used = per > 0
            gather = READ if self.Mc is not None else 2 * READ
            pruned_cost = float(
                (self.counts[used] * self.dim * (gather + per[used])).sum() + _CALL * used.sum()
            )
            if pruned_cost < full_cost:
                self._apply_pruned(P32, pss, need, per, check)
                return
        self._spent += full_cost
        self._apply_full(P32, pss, check)
