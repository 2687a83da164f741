"""Measuring one benchmark case of ``curation.benchmarks.engine``: what a case returns
(``Outcome``), how it is registered (``Case``), timing and peak-memory helpers, the optional
reference solver (``lightly_mundig``) and how two pick orders are compared.

Invariant: tracemalloc never runs during a timed run (it slows numpy allocations down), except
in ``_traced``, used only where a case is too long to run twice.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Outcome:
    ours_s: float
    ref_s: float | None = None
    plain_s: float | None = None
    bound_s: float | None = None
    peak_bytes: int = 0
    matrix_bytes: int = 0
    agreement: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Case:
    name: str
    description: str
    run: Callable[[bool, int], Outcome]
    target: float | None = None  # required speed-up over the reference
    heavy: bool = False  # skipped unless asked for by name or --all
    bound_target: float | None = None  # at most this multiple of the GEMM bound


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _peak(fn: Callable[[], Any]) -> int:
    """Peak traced memory of one more run (tracemalloc slows numpy allocations down, so it
    never runs during a timed one)."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _traced(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """One run, timed and traced at once (for the scale cases, too long to run twice)."""
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def _alternate(
    repeat: int,
    ours: Callable[[], Any],
    ref: Callable[[], Any] | None,
    plain: Callable[[], Any] | None,
    before: Callable[[], Any] | None = None,
) -> tuple[Any, Any, float, float | None, float | None]:
    """Run ours, the reference and the baseline in turn ``repeat`` times; median times.
    ``before`` (untimed) runs before each of ours: a measurement that must see the machine
    as ours does (e.g. its GEMM rate, which drifts on a shared machine)."""
    t_ours: list[float] = []
    t_ref: list[float] = []
    t_plain: list[float] = []
    res = ref_res = None
    for _ in range(max(1, repeat)):
        if before is not None:
            before()
        res, dt = _timed(ours)
        t_ours.append(dt)
        if ref is not None:
            ref_res, dt = _timed(ref)
            t_ref.append(dt)
        if plain is not None:
            _, dt = _timed(plain)
            t_plain.append(dt)
    med = statistics.median
    return (
        res,
        ref_res,
        med(t_ours),
        med(t_ref) if t_ref else None,
        med(t_plain) if t_plain else None,
    )


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
