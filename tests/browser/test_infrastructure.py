"""The live server and browser fixtures work: pages, static files and websockets."""

from __future__ import annotations

from curation.models import SelectionRun


def test_anonymous_visitor_is_sent_to_the_login_page(anonymous_page, live_server_url):
    anonymous_page.goto("/")
    assert "/accounts/login/" in anonymous_page.url
    assert anonymous_page.locator("input[name=username]").is_visible()


def test_logged_in_page_sees_its_datasets_and_htmx_is_loaded(page, dataset):
    page.goto("/")
    assert page.get_by_text(dataset.name).first.is_visible()
    assert page.evaluate("typeof window.htmx") == "object"


def test_websocket_progress_connects_through_the_live_server(page, dataset):
    run = SelectionRun.objects.create(dataset=dataset, config={}, result_tag_name="picked")
    page.goto(f"/runs/{run.pk}/")
    page.wait_for_function(
        "() => { const el = document.querySelector('[ws-connect]');"
        " return el && el['htmx-internal-data'] && el['htmx-internal-data'].webSocket"
        " && el['htmx-internal-data'].webSocket.socket.readyState === 1; }"
    )
