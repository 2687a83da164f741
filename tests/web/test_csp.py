"""Content-Security-Policy (issue 10.4): every page carries ``default-src 'self'`` with no inline
script, inline style or eval allowed, and no page needs them: no ``<script>`` without ``src``, no
``style=`` and no ``on…=`` attribute anywhere in what the templates render. The API docs pages
have their own, wider policy for styles and workers only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from curation.models import SelectionRun
from curation.runs.services import selection_run_start
from tests.support.selection import diversity

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
EVAL_FILTER = re.compile(r'hx-trigger="[^"]*\[')  # htmx event filters are eval'd


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def run(dataset, alice, samples, space) -> SelectionRun:
    return selection_run_start(
        dataset=dataset, config=diversity(3), result_tag_name="picked", user=alice, execute="inline"
    )


def page_urls(dataset, samples, train_tag, run) -> list[str]:
    d = dataset.pk
    return [
        reverse("dataset-list"),
        reverse("dataset-browser", args=[d]),
        reverse("dataset-browser", args=[d]) + "?q=cat",
        reverse("sample-detail", args=[d, samples[0].pk]),
        reverse("tag-list", args=[d]),
        reverse("tag-detail", args=[d, train_tag.pk]),
        reverse("tag-delete", args=[d, train_tag.pk]),
        reverse("builder", args=[d]),
        reverse("selection-dialog", args=[d]),
        reverse("run-history", args=[d]),
        reverse("run-detail", args=[run.pk]),
        reverse("run-results", args=[run.pk]),
        reverse("embedding-map", args=[d]),
        reverse("dataset-create"),
        reverse("preset-list"),
        reverse("token-list"),
        reverse("admin:index"),
        reverse("admin:curation_dataset_changelist"),
        reverse("admin:curation_dataset_change", args=[d]),
        reverse("dataset-browser", args=[d]) + "?q=%00",  # the bad-request page
    ]


def test_every_page_has_the_policy_and_needs_no_inline_code(
    client, admin_user, alice, dataset, samples, train_tag, run
):
    client.force_login(admin_user)  # a superuser: the admin pages too
    for url in page_urls(dataset, samples, train_tag, run):
        response = client.get(url)
        assert response.status_code in (200, 400), url
        rules = policy(response)
        assert rules["default-src"] == ["'self'"], url
        assert rules["script-src"] == ["'self'"] and rules["style-src"] == ["'self'"], url
        assert rules["object-src"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html))
        assert not INLINE_STYLE.search(html), (url, INLINE_STYLE.search(html))
        assert not HANDLER.search(html), (url, HANDLER.search(html))
        assert not EVAL_FILTER.search(html), url


def test_the_login_page_and_errors_have_it_too(client, db):
    for url, status in ((reverse("login"), 200), ("/no/such/page/", 404), ("/api/nothing/", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert policy(response)["default-src"] == ["'self'"]


def test_the_sizes_of_bars_travel_as_data_attributes(client, alice, dataset, samples, run):
    client.force_login(alice)
    histogram = reverse("facet-histogram", args=[dataset.pk]) + "?key=lightly.sharpness"
    html = client.get(histogram).content.decode()  # SVG attributes, no style
    assert re.search(r'<rect x="[\d.]+" y="[\d.]+" width="9" height="[\d.]+"', html)
    assert "style=" not in html
    results = client.get(reverse("run-results", args=[run.pk])).content.decode()
    assert 'class="bar before" data-width="' in results


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_allow_inline_styles_but_still_no_inline_scripts(client, db, url):
    response = client.get(url)
    rules = policy(response)
    assert rules["script-src"] == ["'self'"]
    assert rules["style-src"] == ["'self'", "'unsafe-inline'"]
    assert rules["worker-src"] == ["'self'", "blob:"]
    assert not INLINE_SCRIPT.search(response.content.decode())
