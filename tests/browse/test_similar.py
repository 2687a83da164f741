"""Find similar in the pages and the API: the grid and the API list nearest first (exact numpy
ranking, query samples first), the grid's button for the checked samples, the sample page's
link and its previous / next along the rank, at owner / team member / outsider level."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.urls import reverse

from curation.browse.similarity import similarity_clear_caches
from curation.storage.embeddings import embedding_space_load


@pytest.fixture(autouse=True)
def _fresh_caches():
    similarity_clear_caches()
    yield
    similarity_clear_caches()


def expected_order(space, queries: list[int]) -> list[int]:
    loaded = embedding_space_load(space)
    ids = [int(i) for i in loaded.sample_ids]
    unit = np.asarray(loaded.matrix, dtype=np.float64)
    rows = [ids.index(q) for q in queries]
    dist = 1.0 - (unit @ unit[rows].T).max(axis=1)
    rest = sorted(
        (i for i in range(len(ids)) if ids[i] not in queries),
        key=lambda i: (round(float(dist[i]), 9), ids[i]),
    )
    return queries + [ids[i] for i in rest]


def grid_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="pick" name="sample" value="(\d+)"', html)]


def browser(dataset, query=""):
    return reverse("dataset-browser", args=[dataset.pk]) + (f"?{query}" if query else "")


@pytest.mark.django_db
class TestGrid:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_grid_is_ranked_nearest_first(self, client, dataset, samples, space, who, request):
        client.force_login(request.getfixturevalue(who))
        queries = [samples[3].pk, samples[9].pk]
        response = client.get(browser(dataset, f"similar_to={queries[0]},{queries[1]}"))
        text = response.content.decode()
        assert response.status_code == 200
        assert grid_ids(text) == expected_order(space, queries)
        assert f"nearest first to samples {queries[0]}, {queries[1]}" in text
        assert f'name="similar_to" value="{queries[0]},{queries[1]}"' in text  # sidebar keeps it

    def test_pages_of_the_rank_follow_each_other(
        self, client, alice, dataset, samples, space, settings
    ):
        settings.CURATION_BROWSE_PAGE_SIZE = 5
        client.force_login(alice)
        query = f"similar_to={samples[0].pk}"
        seen, after = [], 0
        while after is not None:
            text = client.get(
                browser(dataset, f"{query}&after={after}"),
                headers={"HX-Request": "true", "HX-Target": "more"},
            ).content.decode()
            seen += grid_ids(text)
            found = re.search(r"after=(\d+)\"", text)
            after = int(found.group(1)) if found else None
        assert seen == expected_order(space, [samples[0].pk])

    def test_a_bad_query_shows_the_sentence(self, client, alice, dataset, samples, space):
        client.force_login(alice)
        text = client.get(
            browser(dataset, "similar_to=999999"),
            headers={"HX-Request": "true", "HX-Target": "results"},
        ).content.decode()
        assert "has no sample 999999" in text and grid_ids(text) == []

    def test_an_outsider_cannot_rank(self, client, charlie, dataset, samples, space):
        client.force_login(charlie)
        assert client.get(browser(dataset, f"similar_to={samples[0].pk}")).status_code == 404

    def test_the_button_is_there_only_with_a_space(self, client, alice, dataset, samples):
        client.force_login(alice)
        assert 'id="find-similar"' not in client.get(browser(dataset)).content.decode()


@pytest.mark.django_db
class TestFindSimilarButton:
    def url(self, dataset):
        return reverse("find-similar", args=[dataset.pk])

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_checked_samples_rank_the_filter(
        self, client, dataset, samples, space, train_tag, who, request
    ):
        client.force_login(request.getfixturevalue(who))
        response = client.post(
            self.url(dataset),
            {
                "sample": [samples[2].pk, samples[1].pk],
                "filter": "tag=train&text=x&q=cat",
                "name": "",
                "action": "create_checked",
            },
        )
        assert response.status_code == 303
        assert response["Location"] == browser(
            dataset, f"tag=train&q=cat&similar_to={samples[2].pk},{samples[1].pk}"
        )
        text = client.get(response["Location"]).content.decode()
        assert grid_ids(text)[:2] == [samples[2].pk, samples[1].pk]

    def test_no_checked_sample_is_one_sentence(self, client, alice, dataset, samples, space):
        client.force_login(alice)
        response = client.post(self.url(dataset), {"filter": ""})
        assert response.status_code == 400
        assert "Check at least one sample, then choose Find similar." in response.content.decode()

    def test_an_outsider_gets_404_and_get_is_refused(
        self, client, alice, charlie, dataset, samples, space
    ):
        client.force_login(charlie)
        assert client.post(self.url(dataset), {"sample": [samples[0].pk]}).status_code == 404
        client.force_login(alice)
        assert client.get(self.url(dataset)).status_code == 405

    def test_the_grid_has_the_button_in_the_tag_form(self, client, alice, dataset, samples, space):
        client.force_login(alice)
        text = client.get(browser(dataset)).content.decode()
        assert f'formaction="{self.url(dataset)}"' in text and 'id="find-similar"' in text


@pytest.mark.django_db
class TestSamplePage:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_links_to_find_similar_and_walks_the_rank(
        self, client, dataset, samples, space, who, request
    ):
        client.force_login(request.getfixturevalue(who))
        order = expected_order(space, [samples[4].pk])
        detail = reverse("sample-detail", args=[dataset.pk, order[3]])
        text = client.get(f"{detail}?similar_to={samples[4].pk}").content.decode()
        assert f'href="{browser(dataset, f"similar_to={order[3]}")}"' in text  # Find similar
        assert f"/samples/{order[2]}/?similar_to={samples[4].pk}" in text  # previous
        assert f"/samples/{order[4]}/?similar_to={samples[4].pk}" in text  # next


@pytest.mark.django_db
class TestApi:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_list_is_ranked_with_distances(self, api, dataset, samples, space, who):
        order = expected_order(space, [samples[6].pk])
        url = f"/api/datasets/{dataset.pk}/samples/?similar_to={samples[6].pk}&page_size=5"
        first = api(who).get(url).json()
        assert [r["id"] for r in first["results"]] == order[:5]
        assert first["results"][0]["similar_distance"] == pytest.approx(0.0, abs=1e-6)
        assert [r["similar_distance"] for r in first["results"]] == sorted(
            r["similar_distance"] for r in first["results"]
        )
        second = api(who).get(first["next"]).json()
        assert [r["id"] for r in second["results"]] == order[5:10]

    def test_outsiders_and_bad_queries(self, api, dataset, samples, space):
        url = f"/api/datasets/{dataset.pk}/samples/?similar_to="
        assert api("charlie").get(f"{url}{samples[0].pk}").status_code == 404
        response = api("alice").get(f"{url}999999")
        assert response.status_code == 400 and "has no sample 999999" in response.json()["detail"]


@pytest.mark.django_db
def test_a_bad_filter_disables_the_actions_that_would_use_it(
    client, alice, dataset, samples, space
):
    """With an error the grid falls back to no filter: "Tag all" or a selection would act on
    every sample, so they are disabled until the filter is fixed."""
    client.force_login(alice)
    text = client.get(browser(dataset, "tag=missing")).content.decode()
    assert "No tag named &#x27;missing&#x27;" in text
    assert (
        'value="create_filter" title="A new tag with every sample of this filter '
        '(the message says how many)" disabled' in text
    )
    assert (
        '<span class="button primary-link disabled" id="new-selection" aria-disabled="true"' in text
    )
    assert 'id="find-similar" disabled' in text
    fine = client.get(browser(dataset, "q=cat")).content.decode()
    assert 'id="find-similar" formaction' in fine and 'href="/datasets/' in fine
