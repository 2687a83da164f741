"""The result of an object-level run shows its picked objects (crops) in pick order, a page at a
time, each linking to its parent image; owner / team / outsider / anonymous."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from curation.models import Annotation, SelectionRun, Tag, TagAnnotation
from curation.runs.services import selection_run_start
from tests.support.objects import TASK, object_space, populate_objects

HX = {"HX-Request": "true"}
DIV = {"input": {"type": "EMBEDDINGS", "task": TASK}, "strategy": {"type": "DIVERSITY"}}


@pytest.fixture
def run(dataset, alice):
    _ids, task, ann_ids = populate_objects(dataset, images=12, per_image=3)
    object_space(dataset, task, ann_ids)
    run = selection_run_start(
        dataset=dataset,
        config={"n_samples": 9, "strategies": [DIV]},
        result_tag_name="picked",
        user=alice,
        execute="inline",
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    return run


def _pick_order(run) -> list[int]:
    tag = Tag.objects.get(pk=run.options["objects"]["tag_id"])
    ranked = TagAnnotation.objects.filter(tag=tag).order_by("rank")
    return list(ranked.values_list("annotation_id", flat=True))


def _crops(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"/media/objects/(\d+)/crop/", html)]


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_result_shows_the_picked_crops_in_pick_order(client, request, run, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("run-results", args=[run.pk]), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    order = _pick_order(run)
    assert len(order) == 9 and _crops(html) == order
    assert "Selected objects" in html and "picked-objects" in html
    first = Annotation.objects.get(pk=order[0])
    assert reverse("sample-detail", args=[run.dataset_id, first.sample_id]) in html
    assert 'id="pick-object-1"' in html and 'id="pick-object-9"' in html
    page = client.get(reverse("run-results", args=[run.pk]))  # the page of its own
    assert _crops(page.content.decode()) == order


def test_the_picked_crops_come_a_page_at_a_time(client, alice, run, settings):
    settings.CURATION_RESULT_OBJECTS_PAGE_SIZE = 4
    order = _pick_order(run)
    client.force_login(alice)
    html = client.get(reverse("run-results", args=[run.pk]), headers=HX).content.decode()
    more_url = reverse("run-result-objects", args=[run.pk])
    assert _crops(html) == order[:4] and f"{more_url}?start=4" in html
    more = client.get(f"{more_url}?start=4", headers={**HX, "HX-Target": "objects-more"})
    fragment = more.content.decode()
    assert more.status_code == 200 and "<html" not in fragment
    assert _crops(fragment) == order[4:8] and 'id="pick-object-5"' in fragment
    assert f"{more_url}?start=8" in fragment
    whole = client.get(f"{more_url}?start=8")
    assert "<html" in whole.content.decode() and _crops(whole.content.decode()) == order[8:]
    assert "?start=" not in whole.content.decode()
    assert client.get(f"{more_url}?start=x").status_code == 400


def test_outsiders_get_404_and_anonymous_users_log_in(client, charlie, run):
    urls = [reverse("run-results", args=[run.pk]), reverse("run-result-objects", args=[run.pk])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(charlie)
    for url in urls:
        assert client.get(url).status_code == 404


def test_an_image_level_run_or_a_deleted_objects_tag_has_no_objects_section(client, alice, run):
    Tag.objects.filter(pk=run.options["objects"]["tag_id"]).delete()
    client.force_login(alice)
    html = client.get(reverse("run-results", args=[run.pk]), headers=HX).content.decode()
    assert "Selected objects" not in html and not _crops(html)
    assert client.get(reverse("run-result-objects", args=[run.pk])).status_code == 404
    images_only = SelectionRun.objects.create(
        dataset=run.dataset, config={}, result_tag_name="x", status="succeeded"
    )
    assert client.get(reverse("run-result-objects", args=[images_only.pk])).status_code == 404


def test_a_page_of_picks_costs_a_bounded_number_of_queries(
    client, alice, run, settings, django_assert_max_num_queries
):
    settings.CURATION_RESULT_OBJECTS_PAGE_SIZE = 200
    client.force_login(alice)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("run-result-objects", args=[run.pk]))
    assert len(_crops(response.content.decode())) == 9
