"""Saved views: ``view=NAME`` in the browser and the API's sample list, the sidebar's save and
delete, and ``/api/datasets/{id}/views/`` at owner / team member / outsider level (a private
view never leaks, a shared one never reaches an outsider)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.filters import FilterError, SampleFilter
from curation.models import SavedView


def browser(dataset, query=""):
    return reverse("dataset-browser", args=[dataset.pk]) + (f"?{query}" if query else "")


@pytest.fixture
def views(dataset, alice, bob):
    return {
        "dogs": SavedView.objects.create(
            dataset=dataset, owner=alice, name="dogs", query="q=dog", visibility="team"
        ),
        "secret": SavedView.objects.create(
            dataset=dataset, owner=alice, name="secret", query="q=cat&width_min=60"
        ),
        "bobs": SavedView.objects.create(
            dataset=dataset, owner=bob, name="bobs", query="meta:split=test", visibility="team"
        ),
    }


def test_view_is_refused_where_no_user_is_known():
    with pytest.raises(FilterError, match="saved views work in the browser and the API"):
        SampleFilter.parse("view=dogs")


@pytest.mark.django_db
class TestBrowser:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_a_shared_view_filters_the_grid(self, client, dataset, samples, views, who, request):
        client.force_login(request.getfixturevalue(who))
        text = client.get(browser(dataset, "view=dogs")).content.decode()
        assert "<strong>6</strong> samples" in text and "file name contains &#x27;dog&#x27;" in text
        refined = client.get(browser(dataset, "view=dogs&width_min=60")).content.decode()
        assert "<strong>3</strong> samples" in refined
        assert '?view=dogs" title="q=dog">dogs</a>' in text  # listed in the sidebar

    def test_a_private_view_is_only_its_owners(self, client, alice, bob, dataset, samples, views):
        client.force_login(alice)
        assert (
            "<strong>3</strong> samples"
            in client.get(browser(dataset, "view=secret")).content.decode()
        )
        client.force_login(bob)
        text = client.get(browser(dataset, "view=secret")).content.decode()
        assert "has no saved view of that name that you may use" in text
        assert ">secret</a>" not in text  # not listed in the sidebar

    def test_save_and_delete_from_the_sidebar(self, client, alice, bob, dataset, samples):
        client.force_login(bob)
        url = reverse("saved-view-save", args=[dataset.pk])
        response = client.post(
            url, {"name": "wide", "visibility": "team", "filter": "width_min=60"}
        )
        assert response.status_code == 303 and response["Location"] == browser(dataset, "view=wide")
        view = SavedView.objects.get(name="wide")
        assert (view.owner, view.query, view.visibility) == (bob, "width_min=60", "team")
        again = client.post(url, {"name": "wide", "filter": "q=a"}, follow=True)
        assert "You already have a saved view named &#x27;wide&#x27;" in again.content.decode()
        empty = client.post(url, {"name": "all", "filter": ""}, follow=True)
        assert "This filter is empty" in empty.content.decode()
        delete = reverse("saved-view-delete", args=[dataset.pk, view.pk])
        client.force_login(alice)  # the dataset's owner, not the view's
        assert client.post(delete).status_code == 403
        client.force_login(bob)
        assert client.post(delete).status_code == 303
        assert not SavedView.objects.filter(pk=view.pk).exists()

    def test_an_outsider_can_neither_save_nor_delete(self, client, charlie, dataset, views):
        client.force_login(charlie)
        url = reverse("saved-view-save", args=[dataset.pk])
        assert client.post(url, {"name": "x", "filter": "q=a"}).status_code == 404
        delete = reverse("saved-view-delete", args=[dataset.pk, views["dogs"].pk])
        assert client.post(delete).status_code == 404
        assert SavedView.objects.count() == 3


@pytest.mark.django_db
class TestApi:
    def url(self, dataset, view=None):
        base = f"/api/datasets/{dataset.pk}/views/"
        return f"{base}{view.pk}/" if view else base

    def test_lists_own_and_shared_never_others_private(self, api, dataset, views):
        alice = {v["name"] for v in api("alice").get(self.url(dataset)).json()["results"]}
        bob = {v["name"] for v in api("bob").get(self.url(dataset)).json()["results"]}
        assert alice == {"dogs", "secret", "bobs"} and bob == {"dogs", "bobs"}
        assert api("bob").get(self.url(dataset, views["secret"])).status_code == 404
        assert api("charlie").get(self.url(dataset)).status_code == 404
        assert api("charlie").get(self.url(dataset, views["dogs"])).status_code == 404
        assert api("anonymous").get(self.url(dataset)).status_code == 401

    def test_create_round_trip_and_use_in_samples(self, api, dataset, samples):
        body = {
            "name": "sharp dogs",
            "filter": {"q": "dog", "min:lightly.sharpness": 90},
            "visibility": "team",
        }
        created = api("bob").post(self.url(dataset), body, format="json")
        assert created.status_code == 201
        data = created.json()
        assert data["filter"] == "q=dog&min:lightly.sharpness=90" and data["owner"] == "bob"
        listed = api("alice").get(f"/api/datasets/{dataset.pk}/samples/?view=sharp%20dogs").json()
        assert [s["file_name"] for s in listed["results"]] == [
            "dog_08.png",
            "dog_09.png",
            "dog_10.png",
            "dog_11.png",
        ]
        count = api("alice").get(f"/api/datasets/{dataset.pk}/samples/count/?view=sharp%20dogs")
        assert count.json() == {"count": 4}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"name": "x", "filter": "nope=1"}, "Unknown filter parameter 'nope'"),
            (
                {"name": "x", "filter": "q=a", "visibility": "public"},
                "Visibility must be private or team.",
            ),
            ({"name": " ", "filter": "q=a"}, "name"),
            ({"name": "x", "filter": "view=dogs"}, "saved views work in the browser"),
        ],
    )
    def test_bad_bodies_are_400_and_write_nothing(self, api, dataset, body, message):
        response = api("alice").post(self.url(dataset), body, format="json")
        assert response.status_code == 400 and message in str(response.json())
        assert not SavedView.objects.exists()

    def test_only_the_owner_changes_or_deletes(self, api, dataset, views):
        dogs = views["dogs"]
        assert (
            api("bob").patch(self.url(dataset, dogs), {"name": "x"}, format="json").status_code
            == 403
        )
        assert api("bob").delete(self.url(dataset, dogs)).status_code == 403
        changed = api("alice").patch(
            self.url(dataset, dogs), {"visibility": "private", "filter": "q=dog_1"}, format="json"
        )
        assert changed.status_code == 200 and changed.json()["filter"] == "q=dog_1"
        assert api("bob").get(self.url(dataset, dogs)).status_code == 404  # now private
        assert api("alice").delete(self.url(dataset, dogs)).status_code == 204
        assert not SavedView.objects.filter(pk=dogs.pk).exists()
