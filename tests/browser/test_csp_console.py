"""The Content-Security-Policy in a real browser (issue 10.4): the main pages, their htmx swaps
and the builder's change-triggered refresh run without one CSP violation in the console."""

from __future__ import annotations

from typing import Any

VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def watch(page: Any) -> list[str]:
    """Console lines about the policy (Chromium logs every refused script, style or eval)."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text)
            if "Content Security Policy" in message.text or "unsafe-eval" in message.text
            else None
        ),
    )
    page.add_init_script(VIOLATIONS)
    return seen


def test_the_main_pages_run_without_csp_violations(strict_page, demo_dataset, live_server_url):
    page = strict_page
    seen = watch(page)
    d = demo_dataset.pk
    for path in (
        "/",
        f"/datasets/{d}/",
        f"/datasets/{d}/?q=digit_1",
        f"/datasets/{d}/tags/",
        f"/datasets/{d}/runs/",
        f"/datasets/{d}/map/",
        "/presets/",
        "/account/tokens/",
        "/datasets/new/",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.cspViolations") == [], path
        assert page.evaluate("typeof htmx") == "object", path
    # the facet histograms are SVG rectangles sized by attributes (no inline style attribute)
    page.goto(f"/datasets/{d}/")
    page.locator('.facet-panel[hx-get*="/facets/histogram/"]').first.scroll_into_view_if_needed()
    page.wait_for_selector(".facet-histogram rect", state="attached")  # loaded once revealed
    heights = page.eval_on_selector_all(
        ".facet-histogram rect", "els => els.map(e => e.getAttribute('height'))"
    )
    assert heights and all(float(h) >= 0 for h in heights)
    assert seen == []


def test_the_selection_dialog_refreshes_on_change_without_eval(strict_page, demo_dataset):
    page = strict_page
    seen = watch(page)
    page.goto(f"/datasets/{demo_dataset.pk}/select/")
    page.wait_for_load_state("networkidle")
    with page.expect_response(lambda r: "/select/" in r.url and r.request.method == "POST"):
        page.locator("#selection-form select").first.dispatch_event("change")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.cspViolations") == []
    assert seen == []
