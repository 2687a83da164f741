"""Benchmark data, and the baselines every case is measured against.

- ``mixture``: the clustered data of most cases (see ``curation.benchmarks.engine``).
- ``sphere``: isotropic Gaussian vectors normalised to unit length (no structure at all: the
  worst case for any pruning).
- ``low_rank``: a rank-32 signal with a decaying spectrum plus isotropic noise, unit length.
- ``text``: TF-IDF + truncated SVD (384 dimensions, unit length) of real text available offline
  on every machine that runs Python: the standard library's own ``.py`` files, cut into
  documents of about 1,500 characters (needs scikit-learn, in the ``bench`` extra).
- ``plain_loop``: the exact farthest-point loop a user would write in 15 lines (float32 matrix,
  precomputed squared norms, one GEMV per pick, BLAS with every thread); ``plain_typicality``
  (blocked brute-force k-NN) and ``plain_combined`` (the whole objective over every candidate
  at every pick) are the same kind of baseline for the other cases.
- ``sgemm_flops``: this machine's measured float32 GEMM rate, for the GEMM bound of k-NN.
"""

from __future__ import annotations

import functools
import glob
import os
import sys
import tempfile
import time

import numpy as np


def mixture(
    n: int, dim: int, *, seed: int = 0, components: int = 64, sigma: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded Gaussian mixture (float32) and the component label of each row."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(components, dim)).astype(np.float32)
    sizes = rng.dirichlet(np.full(components, 2.0))
    labels = rng.choice(components, size=n, p=sizes)
    X = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 65536):
        b = min(n, a + 65536)
        X[a:b] = centers[labels[a:b]] + sigma * rng.standard_normal((b - a, dim), np.float32)
    return X, labels


def sphere(n: int, dim: int, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 65536):
        b = min(n, a + 65536)
        X[a:b] = rng.standard_normal((b - a, dim), dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def low_rank(n: int, dim: int, *, rank: int = 32, noise: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim)).astype(np.float32)
    scale = (np.arange(1, rank + 1, dtype=np.float32)) ** -0.5
    X = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 65536):
        b = min(n, a + 65536)
        coef = rng.standard_normal((b - a, rank), dtype=np.float32) * scale
        X[a:b] = coef @ basis + noise * rng.standard_normal((b - a, dim), dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def _documents(limit: int, size: int = 1500) -> list[str]:
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    root = os.path.join(sys.base_prefix, "lib", version)
    files = sorted(
        f
        for f in glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
        if "site-packages" not in f
    )
    docs: list[str] = []
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        for a in range(0, len(text), size):
            chunk = text[a : a + size]
            if len(chunk) >= size // 3:
                docs.append(chunk)
    rng = np.random.default_rng(0)
    keep = np.sort(rng.permutation(len(docs))[:limit])
    return [docs[i] for i in keep]


@functools.lru_cache(maxsize=2)
def text(n: int = 13_000, dim: int = 384) -> np.ndarray:
    """TF-IDF + truncated SVD of standard-library source, ``n`` documents (fewer if the
    library is smaller), unit-length float32 rows; cached in the temp directory (about a
    minute to build on 2 cores)."""
    ver = f"{sys.version_info[0]}{sys.version_info[1]}"
    cache = os.path.join(tempfile.gettempdir(), f"curation-bench-text-{n}-{dim}-py{ver}.npy")
    if os.path.exists(cache):
        return np.load(cache)
    X = _text(n, dim)
    tmp = f"{cache}.{os.getpid()}.npy"
    np.save(tmp, X)
    os.replace(tmp, cache)
    return X


def _text(n: int, dim: int) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = _documents(n)
    tfidf = TfidfVectorizer(
        max_features=30_000,
        sublinear_tf=True,
        token_pattern=r"[A-Za-z_][A-Za-z0-9_]{1,}",  # noqa: S106
    ).fit_transform(docs)
    Y = TruncatedSVD(dim, random_state=0, n_iter=4).fit_transform(tfidf)
    Y /= np.maximum(np.linalg.norm(Y, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(Y, dtype=np.float32)


def plain_loop(X: np.ndarray, picks: int) -> np.ndarray:
    """Exact farthest-point greedy from row 0, the obvious way (BLAS with every thread)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    xx = np.einsum("ij,ij->i", X, X)
    d = np.full(len(X), np.inf, dtype=np.float32)
    out = [0]
    for _ in range(min(picks, len(X)) - 1):
        s = out[-1]
        dist = X @ X[s]
        dist *= -2.0
        dist += xx
        dist += xx[s]
        np.minimum(d, dist, out=d)
        d[s] = -np.inf
        out.append(int(np.argmax(d)))
    return np.asarray(out, dtype=np.int64)


def plain_typicality(X: np.ndarray, k: int) -> np.ndarray:
    """Blocked brute force: one GEMM per block of rows, argpartition, float32 throughout."""
    Z = np.ascontiguousarray(X, dtype=np.float32)
    Z = Z - Z.mean(axis=0)
    zz = np.einsum("ij,ij->i", Z, Z)
    n = len(Z)
    dist = np.empty((n, k), dtype=np.float32)
    for a in range(0, n, 1024):
        b = min(n, a + 1024)
        D2 = zz[a:b, None] + zz[None, :] - 2.0 * (Z[a:b] @ Z.T)
        D2[np.arange(b - a), np.arange(a, b)] = np.inf
        dist[a:b] = np.sqrt(np.maximum(np.partition(D2, k - 1, axis=1)[:, :k], 0.0))
    sigma = float(dist.mean())
    return np.asarray(np.exp(-dist / sigma).mean(axis=1))


def plain_combined(X: np.ndarray, w: np.ndarray, C: np.ndarray, picks: int) -> list[int]:
    """The whole objective re-evaluated over every candidate at every pick (one GEMV)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    xx = np.einsum("ij,ij->i", X, X)
    t = np.full(C.shape[1], 1.0 / C.shape[1])
    d = np.full(len(X), np.inf)
    sel: list[int] = []
    A, W, base = 0.0, 0.0, np.zeros(C.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(picks):
            P = base[None, :] + C
            P /= P.sum(axis=1, keepdims=True)
            ce = -(t * np.log(P + 1e-10)).sum(axis=1)
            score = np.log(W + w) - np.log(ce)
            if sel:
                score += np.log(A + d)
            score[sel] = -np.inf
            c = int(np.argmax(score))
            if sel:
                A += float(d[c])  # an approximation of A(S): the baseline only needs its cost
            dist = X @ X[c]
            dist *= -2.0
            dist += xx + xx[c]
            np.minimum(d, dist, out=d)
            W += float(w[c])
            base += C[c]
            sel.append(c)
    return sel


# OpenBLAS's threads spin for about 0.1 s after a multi-threaded call before they sleep
SETTLE_S = 0.25


def sgemm_flops(size: int = 2048, repeat: int = 3) -> float:
    """Best float32 GEMM rate of this machine right now (FLOP/s, every BLAS thread).

    It returns only after ``SETTLE_S``: the measurement's BLAS threads go on spinning after
    its last product, and the run timed right after it (ours, in the k-NN cases) would share
    the cores with them (typicality 13k x 384, 12 alternations: 0.42 s right after the
    measurement, 0.40 s after the pause). Nothing multi-threaded runs the instant before a
    user's selection."""
    A = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    A @ A
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        A @ A
        best = min(best, time.perf_counter() - t0)
    time.sleep(SETTLE_S)
    return 2.0 * size**3 / best
