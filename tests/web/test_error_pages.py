"""403, 404 and 500 pages with DEBUG off: the site's layout, one sentence, a link home (and back
to the dataset the address names when the user may see it), JSON for the API; and the favicon."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from curation import urls as site_urls
from curation.models import Dataset, Tag
from curation.web.error_pages import handler500

pytestmark = pytest.mark.urls("tests.web.error_urls")


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def _page(response) -> str:
    text = response.content.decode()
    assert '<header class="topbar">' in text  # the site's layout, not Django's bare page
    assert 'id="back-home"' in text
    return text


def test_the_site_wires_its_error_handlers():
    assert site_urls.handler403 == "curation.web.error_pages.handler403"
    assert site_urls.handler404 == "curation.web.error_pages.handler404"
    assert site_urls.handler500 == "curation.web.error_pages.handler500"


class TestNotFound:
    def test_an_unknown_address_gets_the_styled_page(self, client, alice):
        client.force_login(alice)
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        text = _page(response)
        assert "There is nothing at this address" in text
        assert "back-to-dataset" not in text
        assert "tried" not in text and "urlpatterns" not in text  # no resolver internals

    def test_a_missing_tag_links_back_to_its_dataset(self, client, alice, dataset):
        client.force_login(alice)
        response = client.get(reverse("tag-detail", args=[dataset.pk, 99999]))
        assert response.status_code == 404
        text = _page(response)
        assert (
            f'href="{reverse("dataset-browser", args=[dataset.pk])}" id="back-to-dataset"' in text
        )
        assert f"Back to {dataset.name}" in text

    @pytest.mark.parametrize(
        ("who", "linked"), [("alice", True), ("bob", True), ("charlie", False)]
    )
    def test_the_link_back_is_only_for_those_who_see_the_dataset(
        self, client, request, dataset, who, linked
    ):
        tag = Tag.objects.create(
            dataset=dataset, name="t", created_by=request.getfixturevalue("alice")
        )
        client.force_login(request.getfixturevalue(who))
        response = client.get(reverse("tag-detail", args=[dataset.pk, tag.pk + 1000]))
        assert response.status_code == 404
        text = _page(response)
        assert ("back-to-dataset" in text) is linked
        assert (dataset.name in text) is linked  # an outsider never learns the dataset's name

    def test_an_outsider_gets_the_same_page_as_for_a_missing_dataset(
        self, client, charlie, dataset
    ):
        client.force_login(charlie)
        hidden = client.get(reverse("dataset-browser", args=[dataset.pk]))
        missing = client.get(reverse("dataset-browser", args=[dataset.pk + 1000]))
        assert hidden.status_code == missing.status_code == 404
        assert "No such dataset." in _page(hidden)
        section = '<section class="card narrow" id="error-page"'
        assert _page(hidden).split(section)[1] == _page(missing).split(section)[1]

    def test_a_missing_run_of_a_visible_dataset_links_home_only(self, client, alice, dataset):
        client.force_login(alice)
        response = client.get(reverse("run-detail", args=[424242]))
        assert response.status_code == 404
        assert "back-to-dataset" not in _page(response)

    def test_the_api_answers_json(self, client, alice):
        client.force_login(alice)
        response = client.get("/api/nothing-here/")
        assert response.status_code == 404
        assert response.json()["detail"]

    def test_anonymous_visitors_get_the_page_too(self, client, db):
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        text = _page(response)
        assert "Log out" not in text


class TestForbidden:
    def test_permission_denied_gets_the_styled_page(self, client, alice, dataset):
        client.force_login(alice)
        response = client.get(f"/datasets/{dataset.pk}/refuse/")
        assert response.status_code == 403
        text = _page(response)
        assert "You do not have permission to do that." in text
        assert "back-to-dataset" in text

    def test_an_outsider_is_not_told_the_dataset(self, client, charlie, dataset):
        client.force_login(charlie)
        response = client.get(f"/datasets/{dataset.pk}/refuse/")
        assert response.status_code == 403
        assert dataset.name not in _page(response)


class TestServerError:
    @pytest.fixture
    def failing_client(self, alice):
        client = Client(raise_request_exception=False)
        client.force_login(alice)
        return client

    def test_an_exception_gets_a_static_page_without_internals(self, failing_client):
        response = failing_client.get("/boom/")
        assert response.status_code == 500
        text = _page(response)
        assert "Something went wrong on the server" in text
        assert "secret internals" not in text and "Traceback" not in text

    def test_the_page_needs_no_database(self, failing_client, django_assert_num_queries):
        request = failing_client.get("/boom/").wsgi_request
        with django_assert_num_queries(0):
            response = handler500(request)
        assert response.status_code == 500

    def test_the_api_gets_json(self, failing_client):
        response = failing_client.get("/api/boom/")
        assert response.status_code == 500
        assert "Something went wrong" in response.json()["detail"]
        assert "secret" not in response.content.decode()

    def test_nothing_is_written(self, failing_client, dataset):
        before = Dataset.objects.count(), Tag.objects.count()
        failing_client.get("/boom/")
        assert (Dataset.objects.count(), Tag.objects.count()) == before


class TestFavicon:
    def test_every_page_links_the_icon(self, client, alice):
        client.force_login(alice)
        text = client.get(reverse("dataset-list")).content.decode()
        assert '<link rel="icon" href="/static/curation/favicon.svg" type="image/svg+xml">' in text

    def test_favicon_ico_answers_with_the_svg(self, client, db):
        response = client.get("/favicon.ico")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        assert response.content.startswith(b"<svg")
        assert "max-age=86400" in response["Cache-Control"]

    def test_the_static_icon_is_served(self, client, db):
        response = client.get("/static/curation/favicon.svg")
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body.startswith(b"<svg")
