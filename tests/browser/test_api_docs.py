"""Swagger UI and ReDoc in a real browser: every request the page makes goes to this server (the
vendored drf-spectacular-sidecar files, the schema; no CDN, no web fonts), and the docs render."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest


def _requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def _foreign(urls: list[str], origin: str) -> list[str]:
    ours = urlsplit(origin)
    return [
        u
        for u in urls
        if urlsplit(u).scheme not in ("data", "blob")
        and (urlsplit(u).scheme, urlsplit(u).netloc) != (ours.scheme, ours.netloc)
    ]


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/api/docs/", ".swagger-ui .opblock-summary-path"),
        ("/api/redoc/", ".api-content h2"),
    ],
)
def test_the_docs_load_only_local_assets_and_render(page, live_server_url, path, rendered):
    seen = _requests(page)
    page.goto(path)
    page.locator(rendered).first.wait_for()
    page.wait_for_load_state("networkidle")
    assert any("/api/schema/" in u for u in seen)  # the docs fetched the schema from here
    assert any("drf-spectacular-sidecar" in u or "sidecar" in u for u in seen)
    assert _foreign(seen, live_server_url) == []
    assert "/api/datasets/" in page.content()  # an operation of ours is on the page


def test_swagger_shows_an_operation_title(page, live_server_url):
    page.goto("/api/docs/")
    summary = page.get_by_text("Start a selection; poll GET /api/runs/{id}/ until it has finished")
    summary.first.wait_for()
    assert summary.first.is_visible()


def test_redoc_shows_an_operation_title(page, live_server_url):
    page.goto("/api/redoc/")
    title = ".api-content h2"
    page.locator(title, has_text="Start a selection; poll GET /api/runs/{id}/").first.wait_for()


def test_redoc_runs_under_its_csp_without_violations(strict_page, live_server_url):
    page = strict_page
    seen = _requests(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/api/redoc/")
    page.locator(".api-content h2").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert _foreign(seen, live_server_url) == []
    assert [e for e in errors if "Content Security Policy" in e] == []
