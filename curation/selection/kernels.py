"""Shared numeric helpers of the selection kernels: row gathers, norms, k-means, PCA bases and
the projected clusters whose radii make triangle-inequality pruning exact (see ``diversity``
and ``kernels_knn``), and ``pca_project``, the one PCA projection of the app (the 2D maps).

The other kernels: ``kernels_knn`` (k-NN distances, distances to a query set, the nearest
rows of one row), ``kernels_align`` (sample-id alignment), ``kernels_blas`` (BLAS threads)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from .kernels_blas import all_blas_threads, usable_cpus

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Check = Callable[[], None]


def _noop() -> None:
    return None


def gather_rows(X: np.ndarray, rows: I64 | None, idx: I64 | slice, dtype: type) -> np.ndarray:
    """Rows ``rows[idx]`` of ``X`` as a contiguous array of ``dtype``."""
    src = idx if rows is None else rows[idx]
    if isinstance(src, slice):
        return np.ascontiguousarray(X[src], dtype=dtype)
    if not X.flags.c_contiguous:  # np.take would copy a strided view whole first
        return np.ascontiguousarray(X[src], dtype=dtype)
    return np.ascontiguousarray(np.take(X, src, axis=0), dtype=dtype)


# float64 elements per temporary of ``pair_sq`` (1 MiB: it stays in the core's cache)
PAIR_CHUNK = 131_072


def pair_sq(X: np.ndarray, a: I64, b: I64, check: Check = _noop) -> F64:
    """``||X[a] - X[b]||^2`` for index pairs ``a``, ``b``, in float64 from the differences
    (rows converted exactly), a chunk of pairs at a time: the gathered rows never take more
    than a few ``PAIR_CHUNK`` temporaries."""
    out = np.empty(len(a), dtype=np.float64)
    step = max(1, PAIR_CHUNK // max(1, X.shape[1]))
    for lo in range(0, len(a), step):
        check()
        diff = np.asarray(X[a[lo : lo + step]], dtype=np.float64)
        diff -= X[b[lo : lo + step]]
        out[lo : lo + step] = np.einsum("ij,ij->i", diff, diff)
    return out


def row_sq_norms(X: np.ndarray, rows: I64 | None, block: int = 1024, check: Check = _noop) -> F64:
    """Squared norms of the rows, summed in float64: each block of rows converted into one
    reused float64 buffer (13k x 384: 4.0 ms, against 5.7 ms with a fresh array per block)."""
    n = X.shape[0] if rows is None else len(rows)
    out = np.empty(n, dtype=np.float64)
    buf = np.empty((min(n, block), X.shape[1]), dtype=np.float64)
    for a in range(0, n, block):
        check()
        b = min(n, a + block)
        g = buf[: b - a]
        src = X[a:b] if rows is None else gather_rows(X, rows, slice(a, b), X.dtype.type)
        np.copyto(g, src)
        out[a:b] = np.einsum("ij,ij->i", g, g)
    return out


def _sqdist(P: np.ndarray, pp: np.ndarray, Q: np.ndarray, qq: np.ndarray) -> np.ndarray:
    """Squared distances ``pp + qq - 2 P Q^T`` of every row pair, clipped at 0."""
    out = P @ Q.T
    out *= -2.0
    out += pp[:, None]
    out += qq[None, :]
    np.maximum(out, 0.0, out=out)
    return out


def kmeans(
    X: np.ndarray,
    rows: I64 | None,
    k: int,
    *,
    iters: int = 4,
    sample: int = 20000,
    seed: int = 0,
    check: Check = _noop,
) -> tuple[F64, I64]:
    """Cheap Lloyd k-means on a sample; returns float64 centers and a label per point.

    Any centers work for the exactness of the pruning (radii are measured afterwards); good
    centers only make the pruning more effective.
    """
    n = X.shape[0] if rows is None else len(rows)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n, max(sample, k)), replace=False))
    S = gather_rows(X, rows, pick, np.float32)
    centers = S[rng.choice(len(S), size=k, replace=False)].astype(np.float32)
    ST = np.ascontiguousarray(S.T, dtype=np.float64)  # one contiguous column per dimension
    for _ in range(iters):
        check()
        lab = _assign(S, centers)
        counts = np.bincount(lab, minlength=k).astype(np.float64)
        sums = np.empty((k, S.shape[1]), dtype=np.float64)
        for j in range(S.shape[1]):
            sums[:, j] = np.bincount(lab, weights=ST[j], minlength=k)
        empty = counts == 0
        counts[empty] = 1.0
        new = (sums / counts[:, None]).astype(np.float32)
        new[empty] = centers[empty]
        centers = new
    labels = np.empty(n, dtype=np.int64)
    block = 8192
    for a in range(0, n, block):
        check()
        g = gather_rows(X, rows, slice(a, min(n, a + block)), np.float32)
        labels[a : a + len(g)] = _assign(g, centers)
    return centers.astype(np.float64), labels


# an assignment of at least this many multiply-adds is split over two threads (``_assign``)
PARALLEL_MAC = 8_000_000
_ASSIGN_ROWS = 4096


def _assign(P: np.ndarray, centers: np.ndarray) -> I64:
    """The nearest center of every row of ``P``. Large assignments run in row chunks on two
    threads (numpy releases the GIL in GEMM and argmin; BLAS stays single-threaded): measured
    20k x 64 rows against 141 centers, 6.9 -> 4.5 ms on 2 cores."""
    n = len(P)
    if n <= _ASSIGN_ROWS or n * len(centers) * P.shape[1] < PARALLEL_MAC or usable_cpus() < 2:
        return _assign_rows(P, centers)
    out = np.empty(n, dtype=np.int64)

    def job(a: int) -> None:
        out[a : a + _ASSIGN_ROWS] = _assign_rows(P[a : a + _ASSIGN_ROWS], centers)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(job, range(0, n, _ASSIGN_ROWS)))
    return out


def _assign_rows(P: np.ndarray, centers: np.ndarray) -> I64:
    cc = np.einsum("ij,ij->i", centers, centers)
    scores = P @ centers.T
    scores *= -2.0
    scores += cc[None, :]
    return np.asarray(np.argmin(scores, axis=1), dtype=np.int64)


def _orthonormal(q: np.ndarray) -> np.ndarray:
    """Columns of ``q`` made orthonormal (``q R^-1`` with ``R^T R = q^T q``, float64; twice
    for columns orthonormal to rounding); a Householder QR when ``q`` is rank-deficient."""
    q = q.astype(np.float64)
    try:
        for _ in range(2):
            r = np.linalg.cholesky(q.T @ q)
            q = q @ np.linalg.inv(r).T
    except np.linalg.LinAlgError:
        q = np.linalg.qr(q)[0]
    return q


def pca_basis(
    X: np.ndarray, rows: I64 | None, m: int, sample: int = 8192, seed: int = 0
) -> tuple[F64, F64]:
    """Mean and an orthonormal (m', D) basis of the top principal directions (m' <= m)."""
    n = X.shape[0] if rows is None else len(rows)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    S = gather_rows(X, rows, pick, np.float32)
    mean = S.mean(axis=0, dtype=np.float64)
    if m >= X.shape[1]:
        return mean, np.eye(X.shape[1])
    S -= mean.astype(np.float32)
    # randomized subspace iteration (float32 GEMMs): any orthonormal basis keeps the bounds
    # exact (||P v|| <= ||v|| holds to rounding), a good one makes them tight
    q = rng.standard_normal((X.shape[1], m)).astype(np.float32)
    for _ in range(3):
        q = _orthonormal(S.T @ (S @ q)).astype(np.float32)
    q = _orthonormal(q)
    return mean, np.ascontiguousarray(q.T)


def pca_project(
    matrix: np.ndarray, dims: int = 2, *, fit_rows: int = 50_000, chunk: int = 65_536
) -> np.ndarray:
    """The rows of ``matrix`` on their first ``dims`` principal components, (N, dims) float32.

    The axes come from an exact SVD of an even subsample of at most about ``fit_rows`` rows
    (every ``N // fit_rows``-th row); all rows are then projected in chunks of ``chunk``, so a
    memory-mapped matrix is never read whole. Signs are those of the SVD (deterministic for
    given data). Fewer rows or columns than ``dims`` give identity axes or zero columns.
    """
    n = matrix.shape[0]
    step = max(1, n // fit_rows)
    fit = np.asarray(matrix[::step], dtype=np.float64)
    mean = fit.mean(axis=0)
    if fit.shape[0] < 2 or fit.shape[1] < dims:
        axes = np.eye(fit.shape[1], dims)
    else:
        _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
        axes = vt[:dims].T
        if axes.shape[1] < dims:
            axes = np.pad(axes, ((0, 0), (0, dims - axes.shape[1])))
    out = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, chunk):
        block = np.asarray(matrix[start : start + chunk], dtype=np.float64)
        out[start : start + chunk] = (block - mean) @ axes
    return out


def _projected_clusters(
    X: np.ndarray,
    rows: I64 | None,
    k: int,
    m: int,
    check: Check,
    max_norm: float,
    pca: tuple[F64, F64] | None = None,
) -> tuple[I64, F64, F64, F64, F64]:
    """k-means in a PCA projection of the points.

    Returns labels, projected centers, projected radii, mean and basis. Any partition keeps
    the pruning exact (radii are measured afterwards); good clusters make it effective. The
    points are projected in float32: every projected point is within ``sqrt(m) (D + 3) u
    max ||x||`` of its exact projection (u = 2^-24), which the radii include.
    """
    n = X.shape[0] if rows is None else len(rows)
    mean, basis = pca if pca is not None else pca_basis(X, rows, m)
    b32 = np.ascontiguousarray(basis.T, dtype=np.float32)
    mean_proj = mean @ basis.T  # (x - mean) P = x P - mean P
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(n, size=min(n, max(20000, 20 * k)), replace=False))
    Ys = (gather_rows(X, rows, pick, np.float32) @ b32).astype(np.float64) - mean_proj
    centers = kmeans(Ys, None, k, iters=6, sample=len(Ys), check=check)[0]
    labels = np.empty(n, dtype=np.int64)
    pdist = np.empty(n, dtype=np.float64)
    block = 16384
    c32 = centers.astype(np.float32)
    for a in range(0, n, block):
        check()
        blk = gather_rows(X, rows, slice(a, min(n, a + block)), np.float32)
        with all_blas_threads():  # a large GEMM: worth every thread
            Y = (blk @ b32).astype(np.float64)
        Y -= mean_proj
        lab = _assign(Y.astype(np.float32), c32)
        labels[a : a + len(Y)] = lab
        diff = Y - centers[lab]
        pdist[a : a + len(Y)] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    radius = np.zeros(len(centers))
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=len(centers))
    present = np.flatnonzero(counts)
    offs = np.concatenate([[0], np.cumsum(counts[present])[:-1]]).astype(np.int64)
    radius[present] = np.maximum.reduceat(pdist[order], offs)
    slack = 1.1 * np.sqrt(len(basis)) * (X.shape[1] + 3) * 2.0**-24 * max_norm
    radius = radius * (1.0 + 1e-9) + slack + 1e-12 * float(np.abs(centers).max(initial=0.0))
    return labels, centers, radius, mean, basis
