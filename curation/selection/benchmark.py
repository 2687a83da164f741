"""Benchmark the selection engine against ``lightly_mundig`` (LightlyStudio's solver).

Run with both OpenBLAS pins unset for that command alone::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m curation.selection.benchmark

Cases live in ``CASES`` (a registry: add a ``Case`` to extend). Data: a seeded Gaussian mixture
(64 components, Dirichlet(2) sizes, centers ~ N(0, 1) per dimension, isotropic noise
sigma = 0.6 per dimension, so within-cluster distances are ~60 % of between-center distances and
clusters touch), stored as float32. ``--quick`` shrinks every case for a smoke run.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from .data import ArrayData
from .engine import select
from .kernels_blas import blas_threads
from .kernels_knn import typicality_scores


def mixture(n: int, dim: int, *, seed: int = 0, components: int = 64, sigma: float = 0.6):
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


@dataclass
class Outcome:
    ours_s: float
    ref_s: float | None = None
    peak_bytes: int = 0
    matrix_bytes: int = 0
    agreement: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Case:
    name: str
    description: str
    run: Callable[[bool], Outcome]
    target: float | None = None  # required speed-up over the reference
    heavy: bool = False  # skipped unless asked for by name or --all


def _measure(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """Time one run, then trace the peak memory of a second run (tracemalloc slows numpy
    allocations down, so it never runs during the timed one)."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not available on every OS
        return "n/a"


def _mundig() -> Any:
    try:
        import lightly_mundig
    except ImportError:
        return None
    return lightly_mundig


def _agreement(
    ours: np.ndarray, ref: np.ndarray, objective: Callable[[list[int], int], float] | None
) -> str:
    m = min(len(ours), len(ref))
    eq = ours[:m] == ref[:m]
    frac = float(eq.mean()) if m else 1.0
    if eq.all() and len(ours) == len(ref):
        return f"identical ({m}/{m})"
    k = int(np.argmin(eq)) if not eq.all() else m
    text = f"{frac:.1%} equal, first divergence at pick {k}"
    if objective is not None and k < m:
        prefix = [int(i) for i in ours[:k]]
        a, b = objective(prefix, int(ours[k])), objective(prefix, int(ref[k]))
        rel = abs(a - b) / max(abs(a), abs(b), 1e-300)
        verdict = "float32 tie" if rel <= 2e-6 else "NOT a tie"
        text += f" (objective ours {a:.9g} vs ref {b:.9g}, rel {rel:.1e}: {verdict})"
    return text


def _div_objective(X: np.ndarray) -> Callable[[list[int], int], float]:
    """Phi = A(S) + delta(c), the quantity both solvers compare (mundig in float32)."""

    def obj(prefix: list[int], c: int) -> float:
        P = X[prefix].astype(np.float64)
        sq = (P * P).sum(axis=1)
        D2 = np.maximum(sq[:, None] + sq[None, :] - 2 * P @ P.T, 0)
        np.fill_diagonal(D2, np.inf)
        A = float(D2.min(axis=1).sum()) if len(prefix) > 1 else 0.0
        diff = P - X[c].astype(np.float64)
        return A + float((diff * diff).sum(axis=1).min())

    return obj


DIV = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}


def case_diversity(n: int, dim: int, picks: int, sigma: float = 0.6) -> Callable[[bool], Outcome]:
    def run(with_ref: bool) -> Outcome:
        X, _ = mixture(n, dim, sigma=sigma)
        cfg = {"n_samples": picks, "strategies": [DIV]}
        res, dt, peak = _measure(lambda: select(cfg, ArrayData(embeddings={"default": X})))
        out = Outcome(dt, peak_bytes=peak, matrix_bytes=X.nbytes)
        out.notes.append(
            f"distance evaluations {res.timings['distance_evaluations'] / (n * picks):.1%} of "
            f"naive N*n; prepare {res.timings['prepare_s']:.2f}s"
        )
        md = _mundig() if with_ref else None
        if md is not None:
            t0 = time.perf_counter()
            sel = md.Selection()
            sel.add_diversifying_strategy(X, 1.0)
            ref = np.asarray(sel.run_selection([], n, picks), dtype=np.int64)
            out.ref_s = time.perf_counter() - t0
            out.agreement = _agreement(res.indices, ref, _div_objective(X))
        return out

    return run


def case_typicality(n: int, dim: int, k: int) -> Callable[[bool], Outcome]:
    def run(with_ref: bool) -> Outcome:
        X, _ = mixture(n, dim, seed=1)
        ours, dt, peak = _measure(lambda: typicality_scores(X, None, k))
        out = Outcome(dt, peak_bytes=peak, matrix_bytes=X.nbytes)
        md = _mundig() if with_ref else None
        if md is not None:
            t0 = time.perf_counter()
            ref = np.asarray(md.Typicality(X).calculate_typicality(k), dtype=np.float64)
            out.ref_s = time.perf_counter() - t0
            err = float(np.abs(ours - ref).max())
            out.agreement = f"max |score diff| {err:.1e} ({'ok' if err <= 1e-5 else 'TOO LARGE'})"
        return out

    return run


def case_combined(n: int, dim: int, picks: int, classes: int = 10) -> Callable[[bool], Outcome]:
    def run(with_ref: bool) -> Outcome:
        X, labels = mixture(n, dim, seed=2)
        rng = np.random.default_rng(3)
        w = rng.random(n)
        # class probabilities correlated with the mixture component, as a model's would be
        logits = rng.normal(size=(64, classes))[labels] * 2 + rng.normal(size=(n, classes))
        C = np.exp(logits - logits.max(axis=1, keepdims=True))
        C /= C.sum(axis=1, keepdims=True)
        names = [f"c{i}" for i in range(classes)]
        cfg = {
            "n_samples": picks,
            "strategies": [
                DIV,
                {
                    "input": {"type": "SCORES", "task": "m", "score": "u"},
                    "strategy": {"type": "WEIGHTS"},
                },
                {
                    "input": {"type": "PREDICTIONS", "task": "m", "name": "CLASS_DISTRIBUTION"},
                    "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
                },
            ],
        }
        data = ArrayData(
            embeddings={"default": X},
            scores={("m", "u"): w},
            predictions={("m", "CLASS_DISTRIBUTION"): (C, names)},
        )
        res, dt, peak = _measure(lambda: select(cfg, data))
        out = Outcome(dt, peak_bytes=peak, matrix_bytes=X.nbytes)
        md = _mundig() if with_ref else None
        if md is not None:
            t0 = time.perf_counter()
            sel = md.Selection()
            sel.add_diversifying_strategy(X, 1.0)
            sel.add_weighting_strategy(w, 1.0)
            sel.add_balancing_strategy(C, np.full(classes, 1.0 / classes), 1.0)
            ref = np.asarray(sel.run_selection([], n, picks), dtype=np.int64)
            out.ref_s = time.perf_counter() - t0
            out.agreement = _agreement(res.indices, ref, _combined_objective(X, w, C))
        return out

    return run


def _combined_objective(X: np.ndarray, w: np.ndarray, C: np.ndarray):
    t = np.full(C.shape[1], 1.0 / C.shape[1])

    def obj(prefix: list[int], c: int) -> float:
        P = X[prefix].astype(np.float64)
        sq = (P * P).sum(axis=1)
        D2 = np.maximum(sq[:, None] + sq[None, :] - 2 * P @ P.T, 0)
        np.fill_diagonal(D2, np.inf)
        A = float(D2.min(axis=1).sum()) if len(prefix) > 1 else 0.0
        diff = P - X[c].astype(np.float64)
        delta = float((diff * diff).sum(axis=1).min())
        p = C[prefix].sum(axis=0) + C[c]
        p = p / p.sum()
        ce = -(t * np.log(p + 1e-10)).sum()
        return math.log(A + delta) + math.log(w[prefix].sum() + w[c]) + math.log(1 / ce)

    return obj


CASES: list[Case] = [
    Case("diversity", "DIVERSITY N=100k D=512 n=1000", case_diversity(100_000, 512, 1000), 5.0),
    Case("typicality", "TYPICALITY K=20 N=20k D=384", case_typicality(20_000, 384, 20), 20.0),
    Case(
        "combined",
        "DIVERSITY+WEIGHTS+BALANCE(10 classes) N=100k D=512 n=1000",
        case_combined(100_000, 512, 1000),
        3.0,
    ),
    Case(
        "diversity_1m",
        "DIVERSITY N=1M D=384 n=1000 (ours only)",
        case_diversity(1_000_000, 384, 1000),
    ),
]
QUICK: dict[str, Callable[[bool], Outcome]] = {
    "diversity": case_diversity(20_000, 128, 200),
    "typicality": case_typicality(4_000, 64, 20),
    "combined": case_combined(20_000, 128, 200),
    "diversity_1m": case_diversity(100_000, 64, 200),
}
NO_REFERENCE = {"diversity_1m"}


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    parser = argparse.ArgumentParser(prog="benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--no-reference", action="store_true", help="skip lightly_mundig")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for c in CASES:
            print(f"{c.name:14s} {c.description}", file=out)
        return 0
    names = {c.name for c in CASES}
    for name in args.only or []:
        if name not in names:
            print(f"unknown case {name!r}; choose from {', '.join(sorted(names))}", file=out)
            return 2
    md = _mundig()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus,"
        f" python {platform.python_version()}, numpy {np.__version__},"
        f" lightly_mundig {'yes' if md else 'NOT INSTALLED'},"
        f" BLAS threads {blas_threads() or 'unknown'} (the engine runs BLAS single-threaded),"
        f" load average {_loadavg()}",
        file=out,
    )
    failed = False
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        run = QUICK[case.name] if args.quick and case.name in QUICK else case.run
        with_ref = not args.no_reference and case.name not in NO_REFERENCE
        res = run(with_ref)
        line = f"{case.name:14s} {case.description}{' [quick]' if args.quick else ''}\n"
        line += f"  ours {res.ours_s:8.2f}s"
        if res.ref_s is not None:
            ratio = res.ref_s / res.ours_s
            line += f"   reference {res.ref_s:8.2f}s   speed-up {ratio:6.1f}x"
            if case.target is not None and args.quick:
                line += f" (target {case.target:.0f}x is for the full sizes)"
            elif case.target is not None:
                ok = ratio >= case.target
                failed |= not ok and not args.quick
                line += f" (target {case.target:.0f}x: {'met' if ok else 'MISSED'})"
        line += (
            f"\n  peak traced memory {res.peak_bytes / 2**20:8.1f} MiB"
            f" (embedding matrix {res.matrix_bytes / 2**20:.1f} MiB,"
            f" ratio {res.peak_bytes / max(res.matrix_bytes, 1):.2f})"
        )
        if res.agreement:
            line += f"\n  agreement: {res.agreement}"
        for note in res.notes:
            line += f"\n  {note}"
        line += f"\n  load average after the case: {_loadavg()}"
        print(line, file=out, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
