"""Benchmark the selection engine against ``lightly_mundig`` (LightlyStudio's solver).

Run with both OpenBLAS pins unset for that command alone::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m curation.benchmarks.engine

Cases live in ``CASES`` (a registry: add a ``Case`` to extend); ``engine_measure`` holds the
timing helpers, ``engine_data`` the data and the plain baselines. Clustered data: a seeded
Gaussian mixture (64 components, Dirichlet(2) sizes, centers ~ N(0, 1) per dimension, isotropic
noise sigma = 0.6 per dimension, so within-cluster distances are ~60 % of between-center distances
and clusters touch), stored as float32. Data without cluster structure (see ``bench_data``):
unit-length isotropic Gaussian, low rank plus noise, and TF-IDF + truncated SVD of the standard
library's source text.

Every case also times the obvious numpy baseline ("plain": the farthest-point loop with one
GEMV per pick, the full objective re-evaluated per pick, or a blocked brute-force k-NN), all
with every BLAS thread, and prints the ratios; k-NN cases print the machine's GEMM bound
(N^2 D FLOP at the sgemm rate measured right before each of our runs, median). ``--repeat R``
alternates ours, the reference and the baseline R times and reports medians. ``--quick``
shrinks every case.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from curation.benchmarks import engine_data as bench_data
from curation.benchmarks.engine_knn import case_typicality_approx
from curation.benchmarks.engine_measure import (
    Case,
    Outcome,
    _agreement,
    _alternate,
    _combined_objective,
    _div_objective,
    _loadavg,
    _mundig,
    _peak,
    _traced,
)
from curation.selection.data import ArrayData
from curation.selection.engine import select
from curation.selection.kernels_blas import blas_threads
from curation.selection.kernels_knn import knn_distances, typicality_scores

DIV = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}
DataFn = Callable[[], np.ndarray]


def _mixture_data(n: int, dim: int, seed: int = 0) -> DataFn:
    return lambda: bench_data.mixture(n, dim, seed=seed)[0]


def case_diversity(data: DataFn, picks: int, plain: bool = True) -> Callable[[bool, int], Outcome]:
    def run(with_ref: bool, repeat: int) -> Outcome:
        X = data()
        n = len(X)
        cfg = {"n_samples": picks, "strategies": [DIV]}
        ad = ArrayData(embeddings={"default": X})
        md: Any = _mundig() if with_ref else None

        def ref() -> np.ndarray:
            sel = md.Selection()
            sel.add_diversifying_strategy(X, 1.0)
            return np.asarray(sel.run_selection([], n, picks), dtype=np.int64)

        ref_idx = None
        if not plain and md is None:  # a scale case: one traced run
            res, t, peak = _traced(lambda: select(cfg, ad))
            out = Outcome(t, peak_bytes=peak)
            out.notes.append("time and memory from one run traced by tracemalloc")
        else:
            res, ref_idx, t, t_ref, t_plain = _alternate(
                repeat,
                lambda: select(cfg, ad),
                ref if md is not None else None,
                (lambda: bench_data.plain_loop(X, picks)) if plain else None,
            )
            out = Outcome(t, t_ref, t_plain, peak_bytes=_peak(lambda: select(cfg, ad)))
        out.matrix_bytes = X.nbytes
        out.notes.append(
            f"distance evaluations {res.timings['distance_evaluations'] / (n * picks):.1%} of "
            f"naive N*n; prepare {res.timings['prepare_s']:.2f}s; the explanation after the "
            f"picks {res.timings['explain_s']:.3f}s (the plain loop has none)"
        )
        if ref_idx is not None:
            out.agreement = _agreement(res.indices, ref_idx, _div_objective(X))
        return out

    return run


def case_typicality(data: DataFn, k: int, plain: bool = True) -> Callable[[bool, int], Outcome]:
    def run(with_ref: bool, repeat: int) -> Outcome:
        X = data()
        md: Any = _mundig() if with_ref else None
        # the GEMM rate is measured right before each of our runs (median): on a shared
        # machine it drifts by 20-40 % within a case, and the bound must see what ours saw
        rates: list[float] = []
        ref = None
        if not plain and md is None:  # a scale case: one traced run
            rates.append(bench_data.sgemm_flops())
            ours, t, peak = _traced(lambda: typicality_scores(X, None, k))
            out = Outcome(t, peak_bytes=peak)
            out.notes.append("time and memory from one run traced by tracemalloc")
        else:
            ours, ref, t, t_ref, t_plain = _alternate(
                repeat,
                lambda: typicality_scores(X, None, k),
                (lambda: np.asarray(md.Typicality(X).calculate_typicality(k))) if md else None,
                (lambda: bench_data.plain_typicality(X, k)) if plain else None,
                before=lambda: rates.append(bench_data.sgemm_flops()),
            )
            peak = _peak(lambda: typicality_scores(X, None, k))
            out = Outcome(t, t_ref, t_plain, peak_bytes=peak)
        flops = statistics.median(rates)
        out.matrix_bytes = X.nbytes
        out.bound_s = float(len(X)) ** 2 * X.shape[1] / flops
        out.notes.append(
            f"sgemm {flops / 1e9:.0f} GFLOP/s (median of {len(rates)}, measured before each of"
            f" our runs; {min(rates) / 1e9:.0f}-{max(rates) / 1e9:.0f})"
        )
        if ref is not None:  # both against float64 distances to the exact k nearest
            dist = knn_distances(X, None, k, exact=True)
            truth = np.exp(-dist / dist.mean()).mean(axis=1)
            e_ours = float(np.abs(ours - truth).max())
            e_ref = float(np.abs(ref - truth).max())
            ok = e_ours <= max(1e-5, e_ref)
            out.agreement = (
                f"max |score - float64 exact| ours {e_ours:.1e}, reference {e_ref:.1e}"
                f" ({'ok' if ok else 'TOO LARGE'}); ours vs reference"
                f" {float(np.abs(ours - ref).max()):.1e}"
            )
        return out

    return run


def case_combined(
    n: int, dim: int, picks: int, classes: int = 10
) -> Callable[[bool, int], Outcome]:
    def run(with_ref: bool, repeat: int) -> Outcome:
        X, labels = bench_data.mixture(n, dim, seed=2)
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
        md: Any = _mundig() if with_ref else None

        def ref() -> np.ndarray:
            sel = md.Selection()
            sel.add_diversifying_strategy(X, 1.0)
            sel.add_weighting_strategy(w, 1.0)
            sel.add_balancing_strategy(C, np.full(classes, 1.0 / classes), 1.0)
            return np.asarray(sel.run_selection([], n, picks), dtype=np.int64)

        res, ref_idx, t, t_ref, t_plain = _alternate(
            repeat,
            lambda: select(cfg, data),
            ref if md is not None else None,
            lambda: bench_data.plain_combined(X, w, C, picks),
        )
        out = Outcome(t, t_ref, t_plain, peak_bytes=_peak(lambda: select(cfg, data)))
        out.matrix_bytes = X.nbytes
        if ref_idx is not None:
            out.agreement = _agreement(res.indices, ref_idx, _combined_objective(X, w, C))
        return out

    return run


_TEXT = bench_data.text
_SPHERE = functools.partial(bench_data.sphere, 13_000, 384)
_LOWRANK = functools.partial(bench_data.low_rank, 13_000, 384)
CASES: list[Case] = [
    Case(
        "diversity",
        "DIVERSITY N=100k D=512 n=1000, clustered",
        case_diversity(_mixture_data(100_000, 512), 1000),
        5.0,
    ),
    Case(
        "diversity_text",
        "DIVERSITY N=13k D=384 n=1000, TF-IDF+SVD of stdlib text (unclustered)",
        case_diversity(_TEXT, 1000),
        5.0,
    ),
    Case(
        "diversity_sphere",
        "DIVERSITY N=13k D=384 n=1000, isotropic unit vectors (no structure)",
        case_diversity(_SPHERE, 1000),
    ),
    Case(
        "diversity_lowrank",
        "DIVERSITY N=13k D=384 n=1000, rank 32 + noise, unit vectors",
        case_diversity(_LOWRANK, 1000),
    ),
    Case(
        "diversity_small",
        "DIVERSITY N=3k D=384 n=1000, TF-IDF+SVD of stdlib text (a small dataset)",
        case_diversity(functools.partial(bench_data.text, 3000, 384), 1000),
    ),
    Case(
        "typicality_text",
        "TYPICALITY K=20 N=13k D=384, TF-IDF+SVD of stdlib text (unclustered)",
        case_typicality(_TEXT, 20),
        10.0,
        bound_target=2.0,
    ),
    Case(
        "typicality_sphere",
        "TYPICALITY K=20 N=13k D=384, isotropic unit vectors",
        case_typicality(_SPHERE, 20),
        10.0,
        bound_target=2.0,
    ),
    Case(
        "typicality_lowrank",
        "TYPICALITY K=20 N=13k D=384, rank 32 + noise, unit vectors",
        case_typicality(_LOWRANK, 20),
        10.0,
        bound_target=2.0,
    ),
    Case(
        "typicality",
        "TYPICALITY K=20 N=20k D=384, clustered",
        case_typicality(_mixture_data(20_000, 384, seed=1), 20),
        20.0,
    ),
    Case(
        "combined",
        "DIVERSITY+WEIGHTS+BALANCE(10 classes) N=100k D=512 n=1000",
        case_combined(100_000, 512, 1000),
        3.0,
    ),
    Case(
        "typicality_approx",
        "TYPICALITY K=20 N=100k D=128, clustered: approximate (IVF) vs exact k-NN",
        case_typicality_approx(100_000, 128),
    ),
    Case(
        "diversity_1m",
        "DIVERSITY N=1M D=384 n=10,000, clustered (ours only)",
        case_diversity(_mixture_data(1_000_000, 384), 10_000, plain=False),
        heavy=True,
    ),
    Case(
        "typicality_200k",
        "TYPICALITY K=20 N=200k D=384, clustered (ours only)",
        case_typicality(_mixture_data(200_000, 384, seed=1), 20, plain=False),
        heavy=True,
    ),
    Case(
        "typicality_1m",
        "TYPICALITY K=20 N=1M D=128, clustered, approximate k-NN (ours only)",
        case_typicality_approx(1_000_000, 128, with_exact=False),
        heavy=True,
    ),
]
QUICK: dict[str, Callable[[bool, int], Outcome]] = {
    "diversity": case_diversity(_mixture_data(20_000, 128), 200),
    "diversity_text": case_diversity(functools.partial(bench_data.text, 3000, 64), 200),
    "diversity_sphere": case_diversity(functools.partial(bench_data.sphere, 4000, 64), 200),
    "diversity_lowrank": case_diversity(functools.partial(bench_data.low_rank, 4000, 64), 200),
    "diversity_small": case_diversity(functools.partial(bench_data.text, 1000, 64), 200),
    "typicality_text": case_typicality(functools.partial(bench_data.text, 3000, 64), 20),
    "typicality_sphere": case_typicality(functools.partial(bench_data.sphere, 3000, 64), 20),
    "typicality_lowrank": case_typicality(functools.partial(bench_data.low_rank, 3000, 64), 20),
    "typicality": case_typicality(_mixture_data(4_000, 64, seed=1), 20),
    "combined": case_combined(20_000, 128, 200),
    "diversity_1m": case_diversity(_mixture_data(100_000, 64), 200, plain=False),
    "typicality_200k": case_typicality(_mixture_data(20_000, 64, seed=1), 20, plain=False),
    "typicality_approx": case_typicality_approx(10_000, 32),
    "typicality_1m": case_typicality_approx(50_000, 32, with_exact=False),
}
NO_REFERENCE = {"diversity_1m", "typicality_200k", "typicality_approx", "typicality_1m"}


def _report(case: Case, res: Outcome, quick: bool) -> tuple[str, bool]:
    """The case's lines and whether it met its targets (always True in quick mode)."""
    ok = True
    line = f"{case.name:18s} {case.description}{' [quick]' if quick else ''}\n"
    line += f"  ours {res.ours_s:8.2f}s"
    if res.ref_s is not None:
        ratio = res.ref_s / res.ours_s
        line += f"   reference {res.ref_s:8.2f}s   speed-up {ratio:6.1f}x"
        if case.target is not None and quick:
            line += f" (target {case.target:.0f}x is for the full sizes)"
        elif case.target is not None:
            met = ratio >= case.target
            ok &= met
            line += f" (target {case.target:.0f}x: {'met' if met else 'MISSED'})"
    if res.plain_s is not None:
        rel = res.ours_s / res.plain_s
        line += f"\n  plain numpy {res.plain_s:8.2f}s   ours / plain {rel:5.2f}"
        if not quick:
            met = rel <= 1.1
            ok &= met
            line += f" (limit 1.10: {'met' if met else 'MISSED'})"
    if res.bound_s is not None:
        rel = res.ours_s / res.bound_s
        line += f"\n  GEMM bound {res.bound_s:8.2f}s (N^2 D FLOP)   ours / bound {rel:5.2f}"
        if case.bound_target is not None and not quick:
            met = rel <= case.bound_target
            ok &= met
            line += f" (limit {case.bound_target:.2f}: {'met' if met else 'MISSED'})"
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
    return line, ok


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    parser = argparse.ArgumentParser(prog="benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--all", action="store_true", help="include the heavy scale cases")
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs (medians)")
    parser.add_argument("--no-reference", action="store_true", help="skip lightly_mundig")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for c in CASES:
            print(f"{c.name:18s} {c.description}{' (heavy)' if c.heavy else ''}", file=out)
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
        f" BLAS threads {blas_threads() or 'unknown'} (every case and baseline uses them all),"
        f" repeat {args.repeat} (medians), load average {_loadavg()}",
        file=out,
    )
    failed = False
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        if case.heavy and not (args.all or args.quick or args.only):
            continue
        run = QUICK[case.name] if args.quick and case.name in QUICK else case.run
        with_ref = not args.no_reference and case.name not in NO_REFERENCE
        text, ok = _report(case, run(with_ref, args.repeat), args.quick)
        failed |= not ok
        print(text, file=out, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
