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
