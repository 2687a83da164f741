"""Facets in a real browser: the sidebar's counts follow the filter, and the class legend
follows the task toggles, without a reload."""

from __future__ import annotations

import time

from django.urls import reverse

from curation.models import AnnotationTask


def _values_become(page, key, expected, timeout=15.0):
    """Wait until the values panel of ``key`` shows ``expected`` (panels reload on their own,
    one request each, so one panel may answer after another); the last counts seen."""
    deadline = time.monotonic() + timeout
    found = _values(page, key)
    while found != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        found = _values(page, key)
    return found


def _values(page, key):
    """{value: count} of the values panel of ``key`` once it has counted."""
    panel = page.locator(f'.facet-panel[data-key="{key}"][aria-busy="false"]')
    panel.wait_for()
    found = {}
    for chip in panel.locator("label.chip").all():
        value = chip.locator("input").get_attribute("value")
        found[value] = int(chip.locator(".facet-count").inner_text().replace(",", ""))
    return found


def test_facets_change_with_the_filter(page, dataset, samples, train_tag, screenshot):
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    assert _values(page, "split") == {"train": 8, "test": 4}
    histogram = page.locator('.facet-panel[data-key="lightly.sharpness"] .facet-count')
    assert histogram.inner_text() == "12"
    tags = page.locator('#facet-tags .facet-count[data-tag="train"]')
    assert tags.inner_text() == "4"
    screenshot(page, "browser-facets")

    page.fill("#q", "dog")  # the six dogs: none of them in train
    page.wait_for_function("document.querySelector('#result-count strong').innerText === '6'")
    page.wait_for_function(
        "document.querySelector('#facet-tags .facet-count[data-tag=\"train\"]').innerText === '0'"
    )
    assert _values_become(page, "split", {"train": 4, "test": 2}) == {"train": 4, "test": 2}
    page.wait_for_function(
        'document.querySelector(\'.facet-panel[data-key="lightly.sharpness"] '
        ".facet-count').innerText === '6'"
    )
    labels = page.locator("#facet-labels tr", has_text="dog").locator(".facet-count")
    assert labels.all_inner_texts() == ["0", "6"]  # detector, ground_truth

    # checking a value keeps the others' counts: each panel leaves out its own condition
    page.locator('.facet-panel[data-key="split"] input[value="test"]').check()
    page.wait_for_function("document.querySelector('#result-count strong').innerText === '2'")
    page.wait_for_function(
        'document.querySelector(\'.facet-panel[data-key="lightly.sharpness"] '
        ".facet-count').innerText === '2'"
    )
    assert _values_become(page, "split", {"train": 4, "test": 2}) == {"train": 4, "test": 2}
    assert page.locator('.facet-panel[data-key="split"] input[value="test"]').is_checked()
    assert "meta%3Asplit=test" in page.url or "meta:split=test" in page.url
    screenshot(page, "browser-facets-filtered")


def test_the_legend_follows_the_task_toggles(page, dataset, samples):
    AnnotationTask.objects.filter(dataset=dataset, name="detector").update(
        categories=["cat", "bird"]
    )
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    legend = page.locator("#overlay-legend li")
    assert [t.strip() for t in legend.all_inner_texts()] == [
        "cat",
        "dog",
    ]  # ground truth is drawn by default
    page.locator('#overlay-controls input[value="detector"]').check()
    page.wait_for_function("document.querySelectorAll('#overlay-legend li').length === 3")
    assert [t.strip() for t in legend.all_inner_texts()] == ["cat", "bird", "dog"]  # by task
    page.locator('#overlay-controls input[value="ground_truth"]').uncheck()
    page.wait_for_function("document.querySelectorAll('#overlay-legend li').length === 2")
    assert [t.strip() for t in legend.all_inner_texts()] == ["cat", "bird"]
    assert "boxes=detector" in page.url
