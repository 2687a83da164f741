"""The video page and the browser's filmstrips in a real browser, with the Content-Security-Policy
enforced: scrubbing with the keyboard (on the scrubber and anywhere on the page), a timeline
mark that jumps to its frame in place, and a filmstrip collapsed and remembered."""

from __future__ import annotations

import re

from django.urls import reverse

from curation.models import Tag, TagSample
from tests.support.console import console_problems
from tests.support.video_rows import video_with_frames


def _shown(page, index: int, frames) -> None:
    """Wait until the viewer shows frame ``index`` and check everything that follows it."""
    page.locator("#frame-index", has_text=re.compile(rf"^{index}$")).wait_for()
    assert page.locator("#frame-time").inner_text() == f"{index / 10:.3f}"
    assert page.locator("#scrubber").input_value() == str(index)
    image = page.locator("#frame-image").get_attribute("src")
    assert image == reverse("sample-image", args=[frames[index].pk])
    link = page.locator("#frame-sample-link").get_attribute("href")
    assert link.startswith(
        reverse("sample-detail", args=[frames[index].dataset_id, frames[index].pk])
    )
    page.wait_for_url(re.compile(rf"[?&]frame={index}$"))


def test_scrubbing_with_the_keyboard_and_jumping_from_the_timeline(
    strict_page, dataset, screenshot
):
    page = strict_page
    problems = console_problems(page)
    video, frames = video_with_frames(dataset, "drive.mp4", frames=12)
    picked = Tag.objects.create(dataset=dataset, name="picked", kind=Tag.Kind.SELECTION)
    TagSample.objects.bulk_create([TagSample(tag=picked, sample=frames[i]) for i in (7, 8)])
    keep = Tag.objects.create(dataset=dataset, name="keep")
    TagSample.objects.create(tag=keep, sample=frames[3])
    documents: list[str] = []
    page.goto(reverse("video-detail", args=[dataset.pk, video.pk]) + "?frame=2")
    page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
    _shown(page, 2, frames)

    page.locator("#scrubber").focus()  # the range steps itself
    page.keyboard.press("ArrowRight")
    _shown(page, 3, frames)
    page.keyboard.press("ArrowRight")
    _shown(page, 4, frames)

    page.locator(".frame-readout").click()  # focus leaves the scrubber: the page's keys
    page.keyboard.press("ArrowLeft")
    _shown(page, 3, frames)
    page.keyboard.press("End")
    _shown(page, 11, frames)
    page.keyboard.press("Home")
    _shown(page, 0, frames)
    page.locator("#frame-next").click()
    _shown(page, 1, frames)

    rows = page.locator("tr.timeline-row")
    assert rows.count() == 2 and rows.first.get_attribute("data-tag") == "picked"
    assert rows.first.locator(".pick-badge").inner_text().lower() == "picks"
    rows.first.locator("a.timeline-mark").click()  # frames 7..8: jumps to 7
    _shown(page, 7, frames)
    rows.nth(1).locator("a.timeline-mark").focus()  # marks are reachable by keyboard
    page.keyboard.press("Enter")
    _shown(page, 3, frames)
    page.mouse.move(0, 0)  # no hover on a mark in the picture
    screenshot(page, "video-page", full_page=False)
    assert documents == []  # every step happened in place, no page load
    assert problems == []

    page.reload()  # ?frame= kept the place
    _shown(page, 3, frames)


def test_a_filmstrip_collapses_and_stays_collapsed(strict_page, dataset, screenshot):
    page = strict_page
    problems = console_problems(page)
    video, _ = video_with_frames(dataset, "drive.mp4", frames=4)
    other, _ = video_with_frames(dataset, "park.mp4", frames=3)
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    toggle = page.get_by_role("button", name="drive.mp4")
    strip = page.locator(f"#filmstrip-{video.pk}-0")
    assert toggle.get_attribute("aria-expanded") == "true" and strip.is_visible()
    assert strip.locator("input.pick").count() == 4
    screenshot(page, "browser-filmstrips", full_page=False)
    toggle.focus()
    page.keyboard.press("Enter")
    strip.wait_for(state="hidden")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator(f"#filmstrip-{other.pk}-0").is_visible()  # the other strip stays open
    page.reload()
    page.locator(f"#filmstrip-{video.pk}-0").wait_for(state="hidden")
    assert page.get_by_role("button", name="drive.mp4").get_attribute("aria-expanded") == "false"
    page.get_by_role("button", name="drive.mp4").click()
    page.locator(f"#filmstrip-{video.pk}-0").wait_for(state="visible")
    assert problems == []
