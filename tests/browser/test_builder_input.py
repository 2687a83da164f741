"""The builder never loses input: what a user types while an earlier change is on its way to
the server survives that change's response (which is stale and dropped)."""

from __future__ import annotations

import time

import pytest

from curation.builder import views as builder_views

pytestmark = pytest.mark.browser


def test_typing_during_a_slow_response_is_kept(page, demo_dataset, monkeypatch):
    real = builder_views.builder_context

    def slow_context(form, choices):
        time.sleep(1.5)  # the server is slow: the user keeps typing meanwhile
        return real(form, choices)

    page.goto(f"/datasets/{demo_dataset.pk}/builder/")
    monkeypatch.setattr(builder_views, "builder_context", slow_context)
    page.select_option("#s0-strategy", "TYPICALITY")  # a change: its request is now slow
    page.fill("#n-samples", "77")  # typed before the answer arrives (no change event yet)
    page.wait_for_function(
        "document.querySelector('#config-json').value.includes('TYPICALITY')"
        " && document.querySelector('#config-json').value.includes('77')",
        timeout=30_000,
    )
    assert page.locator("#n-samples").input_value() == "77"
    assert page.locator("#s0-strategy").input_value() == "TYPICALITY"


def test_a_change_made_before_htmx_wired_the_form_is_still_sent(page, demo_dataset):
    page.goto(f"/datasets/{demo_dataset.pk}/builder/")
    page.wait_for_selector("form[data-change-trigger][data-htmx-ready]")
    # as right after a swap, before htmx's settle step wired the new form: the change is kept
    # as pending, and sent once htmx:load comes or, failing that, by the fallback
    page.evaluate(
        "document.querySelectorAll('form[data-change-trigger]')"
        ".forEach(function (f) { f.removeAttribute('data-htmx-ready'); })"
    )
    page.select_option("#s0-strategy", "TYPICALITY")
    page.wait_for_function(
        "document.querySelector('#config-json').value.includes('TYPICALITY')", timeout=15_000
    )
    assert page.locator("form[data-change-pending]").count() == 0
    assert page.locator("#s0-strategy").input_value() == "TYPICALITY"
