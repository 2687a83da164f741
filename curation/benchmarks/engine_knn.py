"""Approximate typicality cases of the engine benchmark (``curation.benchmarks.engine``).

- ``typicality_approx``: TYPICALITY K=20 on 100k x 128 clustered vectors, exact and approximate
  (the IVF search of ``curation.selection.kernels_knn_approx``) in the same run: both times,
  the recall@K the run reports in its notes, and how far the approximate scores are from the
  exact ones.
- ``typicality_1m``: the approximate search alone on 1M x 128 (heavy: ``--all`` or ``--only``),
  one traced run (time and peak memory) with its recall.

Both go through ``select()`` (knn option ``approximate`` / ``exact``), as a run does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from curation.benchmarks import engine_data as bench_data
from curation.benchmarks.engine_measure import Outcome, _alternate, _peak, _traced
from curation.selection.data import ArrayData
from curation.selection.engine import select
from curation.selection.kernels_knn import approximate_knn_distances, knn_distances

TYP = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "TYPICALITY"}}


def _recall(messages: list[str]) -> str:
    for m in messages:
        found = re.search(r"IVF with .*", m)
        if found:
            return found.group(0)
    return "no approximate search ran"


def case_typicality_approx(
    n: int, dim: int, k: int = 20, with_exact: bool = True
) -> Callable[[bool, int], Outcome]:
    def run(with_ref: bool, repeat: int) -> Outcome:
        X = bench_data.mixture(n, dim, seed=5)[0]
        cfg = {"n_samples": 100, "strategies": [TYP]}
        data = ArrayData(embeddings={"default": X})
        approx = {"mode": "approximate"}
        flops = bench_data.sgemm_flops()
        if not with_exact:  # a scale case: one traced run
            res, t, peak = _traced(lambda: select(cfg, data, knn=approx))
            out = Outcome(t, peak_bytes=peak)
            out.notes.append("time and memory from one run traced by tracemalloc")
        else:
            res, _, t, _, t_exact = _alternate(
                repeat,
                lambda: select(cfg, data, knn=approx),
                None,
                lambda: select(cfg, data, knn={"mode": "exact"}),
            )
            assert t_exact is not None
            out = Outcome(t, peak_bytes=_peak(lambda: select(cfg, data, knn=approx)))
            out.notes.append(
                f"exact k-NN through select(): {t_exact:.2f}s, approximate / exact"
                f" {t / t_exact:.2f}"
            )
            exact = knn_distances(X, None, k)
            found = approximate_knn_distances(X, None, k)
            s_exact = np.exp(-exact / exact.mean()).mean(axis=1)
            s_found = np.exp(-found / found.mean()).mean(axis=1)
            same = np.isclose(found, exact, rtol=1e-4).mean()
            out.agreement = (
                f"{same:.1%} of the approximate k-NN distances equal the exact ones;"
                f" max |score - exact score| {float(np.abs(s_found - s_exact).max()):.1e}"
            )
        out.matrix_bytes = X.nbytes
        out.bound_s = float(n) ** 2 * dim / flops
        out.notes.append(f"approximate search: {_recall(res.messages)}")
        out.notes.append(f"sgemm {flops / 1e9:.0f} GFLOP/s measured in this run")
        return out

    return run
