"""Back and Forward after filtering restore the results and the sidebar's controls; a bad filter
URL shows its sentence and disables every action that would use the filter."""

from __future__ import annotations

import re

from django.urls import reverse

from curation.models import Tag


def _count(page) -> str:
    return page.locator("#result-count strong").inner_text()


def test_back_and_forward_restore_results_and_sidebar(strict_page, dataset, samples, alice):
    tag = Tag.objects.create(dataset=dataset, name="odd", created_by=alice)
    tag.samples.add(*samples[1::2])  # 6 samples: cat_01, 03, 05, dog_07, 09, 11
    page = strict_page
    page.goto(reverse("dataset-browser", args=[dataset.pk]))
    assert _count(page) == "12"
    page.fill("#q", "cat")
    page.wait_for_url(re.compile(r"\?q=cat$"))
    page.locator("#result-count strong", has_text=re.compile(r"^6$")).wait_for()
    page.locator('input[name="tag"][value="odd"]').check()
    page.wait_for_url(re.compile(r"tag=odd"))
    page.locator("#result-count strong", has_text=re.compile(r"^3$")).wait_for()

    page.go_back()
    page.wait_for_url(re.compile(r"\?q=cat$"))
    page.locator("#result-count strong", has_text=re.compile(r"^6$")).wait_for()
    assert page.locator("#q").input_value() == "cat"
    assert not page.locator('input[name="tag"][value="odd"]').is_checked()

    page.go_back()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    page.locator("#result-count strong", has_text=re.compile(r"^12$")).wait_for()
    assert page.locator("#q").input_value() == ""

    page.go_forward()
    page.wait_for_url(re.compile(r"\?q=cat$"))
    page.locator("#result-count strong", has_text=re.compile(r"^6$")).wait_for()
    assert page.locator("#q").input_value() == "cat"

    page.go_forward()
    page.wait_for_url(re.compile(r"tag=odd"))
    page.locator("#result-count strong", has_text=re.compile(r"^3$")).wait_for()
    assert page.locator("#q").input_value() == "cat"
    assert page.locator('input[name="tag"][value="odd"]').is_checked()
    names = page.locator("#grid .cell .name").all_inner_texts()
    assert names == ["cat_01.png", "cat_03.png", "cat_05.png"]


def test_a_bad_filter_url_shows_the_error_and_disables_its_actions(strict_page, dataset, samples):
    page = strict_page
    page.goto(reverse("dataset-browser", args=[dataset.pk]) + "?tag=missing")
    alert = page.locator("#results .error[role=alert]")
    assert "missing" in alert.inner_text()
    assert page.locator("#grid .cell").count() == 0
    assert page.get_by_role("button", name=re.compile(r"^Tag all")).is_disabled()
    assert page.locator("#find-similar").count() == 0 or page.locator("#find-similar").is_disabled()
    new_selection = page.locator("#new-selection")
    assert new_selection.get_attribute("aria-disabled") == "true"
    assert new_selection.get_attribute("href") is None  # not a link to a dialog with the bad filter
    assert page.locator(".save-view").count() == 0  # nothing to save


def test_the_selection_dialog_with_a_bad_filter_cannot_start(strict_page, dataset, samples):
    page = strict_page
    page.goto(reverse("selection-dialog", args=[dataset.pk]) + "?tag=missing")
    assert "missing" in page.locator(".field-error[role=alert]").first.inner_text()
    assert page.locator("#start-selection").is_disabled()
