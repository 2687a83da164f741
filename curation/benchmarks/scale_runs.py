"""Run and typicality rows of the scale benchmark (``curation.benchmarks.scale``).

- ``selection run, diversity n=1,000 (job)``: a DIVERSITY run on the ``default`` embedding space
  (n = min(1,000, N / 10)) started through ``selection_run_start`` as the web starts it (queued,
  enqueued on commit), then executed in-process by ``selection_run_execute``, what the worker's
  task does; when a live worker took it first, its end is awaited instead. Wall seconds from the
  start call to the finished run, its status and the size of the tag it wrote. The run and its
  tag are deleted afterwards, so a reused dataset keeps its 2 tags and 2 runs.
- ``typicality K=20, exact``: ``typicality_scores`` (exact k-NN) on the dataset's stored matrix,
  one run, wall time; above ``EXACT_MAX`` rows it is not run and the cell gives a quadratic
  extrapolation from the largest exact figure of this invocation.
- ``typicality K=20, approximate (recall@20)``: the same with ``knn`` mode ``approximate`` (the
  IVF search of ``selection.kernels_knn_approx``), from ``APPROXIMATE_MIN`` rows; wall time
  includes the engine's own recall measurement (exact k-NN of up to 1,000 sampled candidates),
  whose figure, taken from the note the engine writes into a run, is printed with it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.db import transaction
from django_tasks_db.models import DBTaskResult

from curation.models import Dataset, SelectionRun, Tag, TagSample
from curation.runs.services import selection_run_execute, selection_run_start
from curation.selection.kernels_knn import typicality_scores
from curation.selection.options import DEFAULT_APPROXIMATE_ABOVE, KnnOptions
from curation.storage.embeddings import embedding_space_load
from curation.tags.services import tag_delete

RUN_PICKS = 1000
K = 20
EXACT_MAX = DEFAULT_APPROXIMATE_ABOVE  # where ``auto`` stops searching exactly
APPROXIMATE_MIN = 100_000
WAIT_S = 3600.0  # the longest wait for a run a live worker took

RUN_ROW = f"selection run, diversity n={RUN_PICKS:,} (job)"
EXACT_ROW = f"typicality K={K}, exact"
APPROX_ROW = f"typicality K={K}, approximate (recall@{K})"
RECALL = re.compile(r"recall@(\d+) ([0-9.]+), measured against exact search for ([0-9,]+) sampled")


def run_row(dataset: Dataset, n: int, owner: Any) -> str:
    """The selection run's cell (``n``: the dataset's size): wall seconds, status, tag size."""
    picks = min(RUN_PICKS, max(1, n // 10))
    config = {
        "n_samples": picks,
        "strategies": [
            {
                "input": {"type": "EMBEDDINGS", "embedding": "default"},
                "strategy": {"type": "DIVERSITY"},
            }
        ],
    }
    name = f"bench-scale-run-{time.time_ns()}"
    started = time.perf_counter()
    run = selection_run_start(dataset=dataset, config=config, result_tag_name=name, user=owner)
    try:
        try:
            executed = selection_run_execute(run_id=run.pk)  # what the worker's task does
        except Exception:  # the run is marked failed with a sentence; the cell says so
            executed = run
        if executed is None:  # never enqueued, or a live worker took it: wait for its end
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                run.refresh_from_db()
                if run.status in SelectionRun.FINAL_STATUSES:
                    break
                time.sleep(0.2)
        seconds = time.perf_counter() - started
        run.refresh_from_db()
        tagged = TagSample.objects.filter(tag=run.result_tag).count() if run.result_tag else 0
    finally:
        _forget(run)
    if run.status != SelectionRun.Status.SUCCEEDED:
        return f"{seconds:.1f} s, {run.status}: {run.error or 'no tag was written'}"
    return f"{seconds:.1f} s, succeeded, tag of {tagged:,} (n={picks:,})"


def _forget(run: SelectionRun) -> None:
    """Delete the run, its tag and its task row if no worker ever took it."""
    with transaction.atomic():
        tag = Tag.objects.filter(dataset=run.dataset, name=run.result_tag_name).first()
        if tag is not None:
            tag_delete(tag=tag)
        if run.task_id:
            DBTaskResult.objects.ready().filter(id=run.task_id).delete()
        run.delete()


def typicality_rows(dataset: Dataset, n: int, exact_seen: dict[int, float]) -> dict[str, str]:
    """The exact and approximate typicality cells (``n``: the dataset's size). ``exact_seen``
    maps the sizes whose exact time this invocation measured to their seconds; adds this one."""
    row: dict[str, str] = {}
    X = embedding_space_load(dataset.embedding_spaces.get(name="default")).matrix
    if n <= EXACT_MAX:
        started = time.perf_counter()
        typicality_scores(X, None, K)
        seconds = time.perf_counter() - started
        exact_seen[n] = seconds
        row[EXACT_ROW] = f"{seconds:.1f} s"
    elif exact_seen:
        base = max(exact_seen)
        estimate = exact_seen[base] * (n / base) ** 2
        guess = f"{estimate / 60:.0f} min" if estimate >= 60 else f"{estimate:.0f} s"
        row[EXACT_ROW] = f"skipped (est. {guess}, quadratic from {_short(base)})"
    else:
        row[EXACT_ROW] = "skipped (quadratic)"
    if n < APPROXIMATE_MIN:
        row[APPROX_ROW] = f"skipped (exact below approximate_above={DEFAULT_APPROXIMATE_ABOVE:,})"
        return row
    notes: list[str] = []
    started = time.perf_counter()
    typicality_scores(X, None, K, knn=KnnOptions(mode="approximate"), notes=notes)
    seconds = time.perf_counter() - started
    found = next((m for m in map(RECALL.search, notes) if m), None)
    recall = (
        f"recall@{found[1]} {found[2]} on {found[3]} sampled" if found else "recall not reported"
    )
    row[APPROX_ROW] = f"{seconds:.1f} s, {recall}"
    return row


def _short(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"
