"""Facet panels of the pages benchmark: server time of each sidebar panel
(``curation.browse.views_facets``) on the pages suite's 1M-sample dataset, unfiltered and under
a label + string + numeric range filter, against the 300 ms target. Panels are asked with
``wait=1`` so that every figure is the exact aggregate's full time, never a timeout. The load
average is printed with the figures (a shared machine slows every query)."""

from __future__ import annotations

import os
from typing import Any

from django.test import Client
from django.urls import reverse

from curation.models import Dataset

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
    """One line per panel and state; ``timer(client, url, headers)`` -> (median ms, status)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    stdout.write(f"facet panels (exact; load average {load} on {os.cpu_count()} CPUs)\n")
    htmx = {"HX-Request": "true"}
    for state, query in (("unfiltered", ""), ("filtered", FILTERED)):
        for label, name, own in PANELS:
            params = "&".join(p for p in (own, query, "wait=1") if p)
            url = f"{reverse(name, args=[dataset.pk])}?{params}"
            ms, status = timer(client, url, htmx)
            verdict = "ok" if ms <= target_ms and status == 200 else f"SLOW (HTTP {status})"
            stdout.write(f"{f'facet {label}, {state}':<45} {ms:>10.1f}  {verdict}\n")
