"""Facet panels of the pages benchmark: server time of each sidebar panel
(``curation.browse.views_facets``) on the pages suite's 1M-sample dataset, unfiltered and under
a label + string + numeric range filter, against the 300 ms target: the first request after a
write (the facet index built), a filter not asked before, and a repeat. Panels are asked with
``wait=1`` so that every figure is the exact aggregate's full time, never a timeout. The load
average is printed with the figures (a shared machine slows every query)."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from typing import Any

from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from curation.browse.facet_index import (
    facet_index_clear,
    facet_index_prepare,
    facet_index_wait,
)
from curation.models import Dataset
from curation.storage.facet_files import facet_files_dir

REPEATS = 5

FILTERED = (
    "label=3&task=ground_truth&meta:weather=rain&min:lightly.sharpness=10&max:lightly.sharpness=60"
)
PANELS = (
    ("tags", "facet-tags", ""),
    ("labels", "facet-labels", ""),
    ("values of weather", "facet-values", "key=weather"),
    ("histogram of lightly.sharpness", "facet-histogram", "key=lightly.sharpness"),
)


def time_facet_panels(
    client: Client, dataset: Dataset, stdout: Any, timer: Any, target_ms: float
) -> None:
    """One line per panel and state (``curation.browse.facet_index``):

    - *after an import*: the first request of a process whose memory holds nothing (no stored
      result, no index), with the index an import stores on disk (``facet_index_prepare``,
      timed once first);
    - *after another write* (nothing on disk either): counted in SQL while the builder thread
      reads the index, and when the index was complete (seconds after that request);
    - a filter not asked before (the index kept, nothing stored; median of ``REPEATS``), and a
      repeat (``timer(client, url, headers)`` -> (median ms, status): the stored result)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    stdout.write(f"facet panels (exact; load average {load} on {os.cpu_count()} CPUs)\n")
    facet_index_clear()
    started = time.perf_counter()
    facet_index_prepare(dataset)
    stdout.write(
        f"facet index read and stored as an import does: {time.perf_counter() - started:.1f} s\n"
    )
    stdout.write(
        f"{'panel':<45} {'after an import':>16} {'after another write':>20} {'index built':>12} "
        f"{'new filter':>11} {'repeat':>8}  target {target_ms:.0f} ms\n"
    )
    htmx = {"HX-Request": "true"}
    for state, query in (("unfiltered", ""), ("filtered", FILTERED)):
        for label, name, own in PANELS:
            params = "&".join(p for p in (own, query, "wait=1") if p)
            url = f"{reverse(name, args=[dataset.pk])}?{params}"
            cache.clear()
            facet_index_clear()
            imported = _one(client, url, htmx)  # read from the stored file
            cache.clear()
            facet_index_clear()
            stored = facet_files_dir(dataset.pk)
            shutil.rmtree(stored, ignore_errors=True)
            first = _one(client, url, htmx)  # counted in SQL; the index is built meanwhile
            started = time.perf_counter()
            facet_index_wait()
            built = first / 1000 + time.perf_counter() - started
            fresh = []
            for _ in range(REPEATS):
                cache.clear()
                fresh.append(_one(client, url, htmx))
            new = statistics.median(fresh)
            repeat, status = timer(client, url, htmx)
            slow = max(imported, new) > target_ms or status != 200
            verdict = f"SLOW (HTTP {status})" if slow else "ok"
            stdout.write(
                f"{f'facet {label}, {state}':<45} {imported:>16.1f} {first:>20.1f} "
                f"{built:>10.1f} s {new:>11.1f} {repeat:>8.1f}  {verdict}\n"
            )


def _one(client: Client, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    client.get(url, headers=headers)
    return (time.perf_counter() - started) * 1000
