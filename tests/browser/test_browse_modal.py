"""Browsing in a real browser with the Content-Security-Policy enforced: the sample modal's
keyboard flow and URL state (Back, reload), labels over the thumbnails with their toggles, the
thumbnail size, and Find similar from the checked samples (exact numpy order)."""

from __future__ import annotations

import re

import numpy as np
from django.urls import reverse

from curation.browse.overlays import class_colour
from curation.storage.embeddings import embedding_space_load
from tests.support.console import console_problems


def _modal_sample(page) -> int:
    return int(page.locator("#sample-modal").get_attribute("data-sample"))


def _wait_modal(page, sample_id: int) -> None:
    page.locator(f'#sample-modal[data-sample="{sample_id}"]').wait_for()
    page.wait_for_url(re.compile(rf"sample={sample_id}(&|$)"))


def test_the_modal_keyboard_flow(strict_page, dataset, samples, screenshot):
    page = strict_page
    problems = console_problems(page)
    page.goto(reverse("dataset-browser", args=[dataset.pk]) + "?q=cat")
    page.locator("#grid .cell a").nth(1).click()
    _wait_modal(page, samples[1].pk)
    assert page.locator("#sample-modal .boxes rect").count() == 1
    screenshot(page, "browser-modal", full_page=False)
    page.keyboard.press("ArrowRight")
    _wait_modal(page, samples[2].pk)
    page.keyboard.press("ArrowLeft")
    _wait_modal(page, samples[1].pk)
    page.keyboard.press("ArrowLeft")
    _wait_modal(page, samples[0].pk)
    assert page.locator("#modal-prev").count() == 0  # the first sample of the filter
    page.keyboard.press("x")
    assert page.locator(f'#grid input.pick[value="{samples[0].pk}"]').is_checked()
    assert page.locator(".modal-pick").is_checked()
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_hidden()
    page.keyboard.press("t")
    tag_name = page.locator('#sample-modal #sample-tags input[name="name"]')
    assert tag_name.evaluate("el => el === document.activeElement")
    page.keyboard.type("keep")  # typed into the field, not taken as shortcuts
    assert tag_name.input_value() == "keep"
    page.keyboard.press("Escape")  # leaves the field
    page.keyboard.press("Escape")  # closes
    page.locator("#sample-modal").wait_for(state="detached")
    page.wait_for_url(re.compile(r"\?q=cat$"))
    page.go_back()
    _wait_modal(page, samples[0].pk)
    page.reload()
    _wait_modal(page, samples[0].pk)
    assert page.locator("#grid .cell").count() == 6
    page.keyboard.press("ArrowRight")  # the keys work after a reload too
    _wait_modal(page, samples[1].pk)
    assert problems == []


def test_labels_over_thumbnails_and_their_toggles(strict_page, dataset, samples, screenshot):
    page = strict_page
    problems = console_problems(page)
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    rects = page.locator("#grid svg.overlay rect")
    assert rects.count() == 12
    assert rects.first.get_attribute("stroke") == class_colour("cat")
    box = rects.first.bounding_box()
    image = page.locator("#grid .cell img").first.bounding_box()
    assert box is not None and image is not None
    assert image["x"] < box["x"] and box["x"] + box["width"] < image["x"] + image["width"]
    assert page.locator(".legend li").count() == 2
    screenshot(page, "browser-boxes", full_page=False)
    page.locator('#overlay-controls input[value="ground_truth"]').uncheck()
    page.wait_for_url(re.compile(r"boxes=none"))
    rects.first.wait_for(state="detached")
    page.locator('#overlay-controls input[value="detector"]').check()
    page.wait_for_url(re.compile(r"boxes=detector"))
    page.locator("#grid .label-chip").first.wait_for()
    assert page.locator("#grid .label-chip").count() == 12
    page.reload()
    assert page.locator("#grid .label-chip").count() == 12 and rects.count() == 0
    assert page.locator('#overlay-controls input[value="detector"]').is_checked()
    assert problems == []


def test_the_thumbnail_size_is_remembered(strict_page, dataset, samples):
    page = strict_page
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    small = page.locator("#grid .cell").first.bounding_box()
    page.get_by_role("button", name="Large").click()
    page.locator("#grid.size-l").wait_for()
    large = page.locator("#grid .cell").first.bounding_box()
    assert small is not None and large is not None and large["width"] > 1.5 * small["width"]
    assert page.get_by_role("button", name="Large").get_attribute("aria-pressed") == "true"
    page.goto(reverse("dataset-browser", args=[dataset.pk]) + "?q=dog")
    assert page.locator("#grid.size-l").count() == 1


def test_find_similar_from_the_checked_samples(strict_page, dataset, samples, space):
    page = strict_page
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    page.locator(f'#grid input.pick[value="{samples[9].pk}"]').check()
    page.locator(f'#grid input.pick[value="{samples[2].pk}"]').check()
    page.locator("#find-similar").click()
    page.wait_for_url(re.compile(rf"similar_to={samples[2].pk},{samples[9].pk}"))
    shown = [
        int(v) for v in page.locator("#grid input.pick").evaluate_all("l => l.map(e => e.value)")
    ]
    loaded = embedding_space_load(space)
    ids = [int(i) for i in loaded.sample_ids]
    unit = np.asarray(loaded.matrix, dtype=np.float64)
    queries = [samples[2].pk, samples[9].pk]
    dist = 1.0 - (unit @ unit[[ids.index(q) for q in queries]].T).max(axis=1)
    rest = sorted(
        (i for i in range(len(ids)) if ids[i] not in queries), key=lambda i: (dist[i], ids[i])
    )
    assert shown == queries + [ids[i] for i in rest]


def test_a_saved_view_round_trip_and_back_restores_the_sidebar(strict_page, dataset, samples):
    page = strict_page
    problems = console_problems(page)
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    page.fill("#q", "dog")
    page.locator("#result-count strong", has_text="6").wait_for()
    page.wait_for_url(re.compile(r"\?q=dog$"))
    page.locator('.save-view input[name="name"]').fill("dogs")
    page.locator(".save-view select").select_option("team")
    page.get_by_role("button", name="Save view").click()
    page.wait_for_url(re.compile(r"\?view=dogs$"))
    assert page.locator("#result-count strong").inner_text() == "6"
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    page.locator(".saved-views a", has_text="dogs").click()
    page.wait_for_url(re.compile(r"\?view=dogs$"))
    assert page.locator("#q").input_value() == "dog"  # the sidebar shows the view's filter
    page.fill("#q", "dog_1")
    page.locator("#result-count strong", has_text="2").wait_for()
    page.go_back()
    page.wait_for_url(re.compile(r"\?view=dogs$"))
    page.locator("#result-count strong", has_text="6").wait_for()
    assert page.locator("#q").input_value() == "dog"  # Back restores the sidebar too
    assert problems == []
