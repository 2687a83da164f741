"""The facet panels' URLs (``curation.browse.views_facets``) at every access level, their bad
input, and the browser's results swap: the legend out of band, ``facets-refresh`` on a new
filter."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.urls import reverse

from curation.browse import views_facets
from curation.browse.facets import FacetTimeout
from curation.browse.overlays import class_colour
from curation.models import AnnotationTask, Tag, TagSample

PANELS = [
    ("facet-tags", ""),
    ("facet-labels", ""),
    ("facet-values", "key=split"),
    ("facet-histogram", "key=lightly.sharpness"),
]


def panel(name, dataset, query=""):
    return f"{reverse(name, args=[dataset.pk])}?{query}"


def counts(html):
    return [int(n.replace(",", "")) for n in re.findall(r"facet-count[^>]*>([\d,]+)<", html)]


class TestAccess:
    @pytest.mark.parametrize(("name", "query"), PANELS)
    def test_the_owner_gets_the_counts(
        self, client, alice, dataset, samples, train_tag, name, query
    ):
        client.force_login(alice)
        response = client.get(panel(name, dataset, query))
        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" not in html and 'class="facet-panel"' in html and "exact," in html
        assert 'hx-trigger="facets-refresh from:body, facet-retry"' in html  # no reload loop

    @pytest.mark.parametrize(("name", "query"), PANELS)
    def test_a_team_member_gets_them_too(
        self, client, bob, dataset, samples, train_tag, name, query
    ):
        client.force_login(bob)
        assert client.get(panel(name, dataset, query)).status_code == 200

    @pytest.mark.parametrize(("name", "query"), PANELS)
    def test_an_outsider_gets_404(self, client, charlie, dataset, samples, name, query):
        client.force_login(charlie)
        response = client.get(panel(name, dataset, query))
        assert response.status_code == 404 and b"split" not in response.content

    @pytest.mark.parametrize(("name", "query"), PANELS)
    def test_anonymous_is_sent_to_log_in(self, client, dataset, name, query):
        response = client.get(panel(name, dataset, query))
        assert response.status_code == 302 and "/login" in response["Location"]

    @pytest.mark.parametrize(("name", "query"), PANELS)
    def test_it_only_reads(self, client, alice, dataset, samples, name, query):
        client.force_login(alice)
        assert client.post(panel(name, dataset, query)).status_code == 405


class TestCounts:
    def test_tags_follow_the_filter(self, client, alice, dataset, samples, train_tag):
        client.force_login(alice)
        html = client.get(panel("facet-tags", dataset)).content.decode()
        assert counts(html) == [4]
        html = client.get(panel("facet-tags", dataset, "q=dog")).content.decode()
        assert counts(html) == [0]
        html = client.get(panel("facet-tags", dataset, "tag=train")).content.decode()
        assert counts(html) == [4] and re.search(r'name="tag" value="train"[^>]*checked', html)

    def test_labels_show_one_column_per_task(self, client, alice, dataset, samples):
        client.force_login(alice)
        html = client.get(panel("facet-labels", dataset, "q=_0&label=dog")).content.decode()
        assert ">detector</th>" in html and ">ground_truth</th>" in html
        assert counts(html) == [10, 6, 0, 4]  # cat: detector, ground truth; dog: the same
        assert re.search(r'name="label" value="dog" checked', html)

    def test_values_and_the_histogram_follow_the_filter(self, client, alice, dataset, samples):
        client.force_login(alice)
        html = client.get(panel("facet-values", dataset, "key=split&meta:split=test")).content
        assert counts(html.decode()) == [8, 4]
        assert re.search(rb'name="meta:split" value="test" checked', html)
        html = client.get(panel("facet-values", dataset, "key=split&q=cat")).content
        assert counts(html.decode()) == [4, 2]
        html = client.get(
            panel(
                "facet-histogram", dataset, "key=lightly.sharpness&q=dog&min:lightly.sharpness=100"
            )
        ).content.decode()
        assert "70 \N{EN DASH} 120" in html and counts(html) == [6]
        chosen = re.findall(r'class="chosen" data-count="(\d+)"', html)
        assert sum(int(n) for n in chosen) == 3  # 100, 110, 120
        assert "style=" not in html

    def test_a_panel_out_of_time_says_so_and_offers_to_wait(
        self, client, alice, dataset, samples, monkeypatch
    ):
        def slow(*args, **kwargs):
            raise FacetTimeout(5000)

        monkeypatch.setattr(views_facets, "tag_facet", slow)
        client.force_login(alice)
        html = client.get(panel("facet-tags", dataset)).content.decode()
        assert "Not counted: Counting took longer than 5 s." in html
        assert "wait=1" in html and "Count anyway" in html and counts(html) == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("name", "query", "sentence"),
        [
            ("facet-values", "", "This panel needs key="),
            ("facet-histogram", "key=" + "k" * 201, "This panel needs key="),
            ("facet-tags", "min:x=abc", "must be a number"),
            ("facet-labels", "tag=nope", "No tag named 'nope'"),
            ("facet-values", "key=split&colour=red", "Unknown filter parameter 'colour'"),
        ],
    )
    def test_it_answers_one_sentence(self, client, alice, dataset, samples, name, query, sentence):
        client.force_login(alice)
        response = client.get(panel(name, dataset, query))
        assert response.status_code == 400 and sentence in unescape(response.content.decode())


class TestResultsSwap:
    def results(self, client, dataset, query, current):
        browser = reverse("dataset-browser", args=[dataset.pk])
        headers = {
            "HX-Request": "true",
            "HX-Target": "results",
            "HX-Current-URL": f"http://testserver{browser}?{current}",
        }
        return client.get(
            f"{reverse('dataset-browser', args=[dataset.pk])}?{query}", headers=headers
        )

    def test_a_new_filter_refreshes_the_facets(self, client, alice, dataset, samples):
        client.force_login(alice)
        response = self.results(client, dataset, "q=dog", "")
        assert response["HX-Trigger"] == "facets-refresh"
        response = self.results(client, dataset, "q=dog&boxes=detector", "q=dog")
        assert "HX-Trigger" not in response  # only the drawn tasks changed

    def test_the_legend_follows_the_task_toggles(self, client, alice, dataset, samples):
        AnnotationTask.objects.filter(dataset=dataset, name="detector").update(
            categories=["cat", "bird"]
        )
        client.force_login(alice)
        html = self.results(client, dataset, "boxes=detector", "").content.decode()
        legend = html.split('id="overlay-legend" hx-swap-oob="true"', 1)[1].split("</div>", 1)[0]
        assert f'fill="{class_colour("bird")}"' in legend and "bird" in legend
        html = self.results(client, dataset, "boxes=none", "boxes=detector").content.decode()
        legend = html.split('id="overlay-legend" hx-swap-oob="true"', 1)[1].split("</div>", 1)[0]
        assert "<li>" not in legend

    def test_the_whole_page_asks_for_each_panel_once_revealed(
        self, client, alice, dataset, samples
    ):
        client.force_login(alice)
        html = client.get(reverse("dataset-browser", args=[dataset.pk])).content.decode()
        assert html.count('hx-trigger="revealed, facets-refresh from:body, facet-retry"') >= 4
        assert 'id="overlay-legend"' in html and "hx-swap-oob" not in html

    def test_a_page_with_a_bad_filter_asks_no_panel_until_a_valid_filter_refreshes_them(
        self, client, alice, dataset, samples
    ):
        client.force_login(alice)
        url = reverse("dataset-browser", args=[dataset.pk]) + "?min:x=abc"
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 400 and "must be a number" in unescape(html)
        assert "revealed" not in html  # no panel asks for counts of a filter that is not valid
        assert html.count('hx-trigger="facets-refresh from:body, facet-retry"') >= 4
        assert html.count("Not counted: the filter is not valid (see above).") >= 4
        assert "counting…" not in html
        # fixing the filter refreshes the panels (the results swap sends facets-refresh)
        response = self.results(client, dataset, "q=dog", "min:x=abc")
        assert response.status_code == 200 and response["HX-Trigger"] == "facets-refresh"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the data version is kept by PostgreSQL triggers"
)
@pytest.mark.django_db(transaction=True)
class TestStoredPanels:
    """A panel counted once answers again from the store until the dataset's data changes."""

    def test_a_repeat_is_not_counted_again_and_a_write_is_seen(
        self, client, alice, dataset, samples, train_tag, monkeypatch
    ):
        calls = []
        real = views_facets.tag_facet

        def counting(*args, **kwargs):
            calls.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(views_facets, "tag_facet", counting)
        client.force_login(alice)
        url = panel("facet-tags", dataset, "meta:split=train")
        first = counts(client.get(url).content.decode())
        assert counts(client.get(url).content.decode()) == first and len(calls) == 1
        TagSample.objects.create(tag=train_tag, sample=samples[-1])  # a write: a new version
        after = counts(client.get(url).content.decode())
        assert len(calls) == 2
        expected = TagSample.objects.filter(tag=train_tag, sample__metadata__split="train").count()
        assert expected in after

    def test_renaming_a_tag_is_not_answered_from_the_store(
        self, client, alice, dataset, samples, train_tag
    ):
        client.force_login(alice)
        url = panel("facet-tags", dataset)
        assert ">train<" in client.get(url).content.decode()
        Tag.objects.filter(pk=train_tag.pk).update(name="training")
        html = client.get(url).content.decode()
        assert ">training<" in html and ">train<" not in html
