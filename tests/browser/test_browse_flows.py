"""The main browsing flows in a real browser: log in, filter, tag checked samples, export."""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import reverse

from curation.models import Tag, TagSample


def test_log_in_through_the_form(anonymous_page, alice, screenshot):
    page = anonymous_page
    page.goto("/")
    screenshot(page, "login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", name="Datasets").is_visible()


def test_filter_the_demo_dataset(page, demo_dataset, screenshot):
    page.goto("/")
    screenshot(page, "dataset-list")
    page.get_by_role("link", name=demo_dataset.name).first.click()
    count = page.locator("#result-count strong")
    assert count.inner_text() == "1,797"
    assert page.locator(".grid .cell").count() == 60
    screenshot(page, "browser")
    page.get_by_label("Task").select_option("ground_truth")
    page.locator("label.chip", has_text=re.compile(r"^\s*7\s*$")).click()
    page.wait_for_function("document.querySelector('#result-count strong').innerText !== '1,797'")
    assert count.inner_text() == "179"  # the sevens of the digits data set
    assert "label=7" in page.url and "task=ground_truth" in page.url
    page.fill("#q", "digit_00")
    page.wait_for_function("document.querySelector('#result-count strong').innerText !== '179'")
    assert page.locator(".grid .cell").count() == int(count.inner_text())
    screenshot(page, "browser-filtered")
    page.go_back()
    page.wait_for_function("document.querySelector('#result-count strong').innerText === '179'")


def test_infinite_scroll_loads_the_next_samples(page, demo_dataset):
    page.goto(reverse("dataset-browser", args=[demo_dataset.pk]))
    page.locator("#more").scroll_into_view_if_needed()
    page.wait_for_function("document.querySelectorAll('.grid .cell').length >= 120")


def test_tag_checked_samples_with_shift_click(page, demo_dataset, screenshot):
    page.goto(reverse("dataset-browser", args=[demo_dataset.pk]) + "?q=digit_01")
    boxes = page.locator("input.pick")
    boxes.nth(0).check()
    boxes.nth(4).click(modifiers=["Shift"])
    page.fill("#tag-form input[name=name]", "first-five")
    screenshot(page, "browser-checked")
    page.get_by_role("button", name="Tag checked").click()
    page.wait_for_selector(".messages")
    assert "created with 5 samples" in page.locator(".messages").inner_text()
    tag = Tag.objects.get(dataset=demo_dataset, name="first-five")
    names = sorted(TagSample.objects.filter(tag=tag).values_list("sample__file_name", flat=True))
    assert names == [f"digit_{i:04d}.png" for i in range(100, 105)]
    page.goto(reverse("sample-detail", args=[demo_dataset.pk, tag.samples.first().pk]))
    screenshot(page, "sample-detail")


def test_export_a_tag(page, demo_dataset, screenshot):
    page.goto(reverse("dataset-browser", args=[demo_dataset.pk]) + "?label=3&task=ground_truth")
    page.fill("#tag-form input[name=name]", "threes")
    page.get_by_role("button", name=re.compile("Tag all")).click()
    page.wait_for_selector(".messages")
    page.goto(reverse("tag-list", args=[demo_dataset.pk]))
    screenshot(page, "tags")
    page.get_by_role("link", name="threes").click()
    screenshot(page, "tag-detail")
    page.get_by_label("CSV with metadata, annotations and scores").check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    download = info.value
    text = Path(download.path()).read_text()
    lines = text.strip().splitlines()
    assert len(lines) == 1 + 183  # header + the threes
    assert download.suggested_filename.endswith(".csv")


def test_embedding_map_click_opens_a_sample(page, demo_dataset, screenshot):
    page.goto(reverse("embedding-map", args=[demo_dataset.pk]) + "?label=0&task=ground_truth")
    page.wait_for_selector("canvas[data-ready=true]")
    assert "178 matching" in page.locator("#map-status").inner_text()
    screenshot(page, "embedding-map")
    canvas = page.locator("#embedding-map")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_url(re.compile(r"box%3Adefault=|box:default="))
    assert page.locator("#result-count strong").is_visible()
