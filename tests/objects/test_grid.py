"""The objects grid page: who may see it, what each cell shows (crop, label, score, a link to its
image), the filters (task, label, objects tag, image tag), pages by annotation id, a bounded
number of queries, and the links to it from the browser and an objects tag's page."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from curation.models import Annotation, AnnotationTask, Tag
from curation.tags.services import tag_create, tag_create_objects
from tests.support.objects import TASK, populate_objects, write_pixels


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The browser page caches metadata facets by dataset id, which SQLite reuses across tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def objects(dataset, tmp_path):
    sample_ids, task, ann_ids = populate_objects(dataset, images=6, per_image=2)
    root = tmp_path / "images"
    write_pixels(root, dataset)
    dataset.image_root = str(root)
    dataset.save(update_fields=["image_root"])
    return sample_ids, task, ann_ids


def _grid(client, dataset, query="", **headers):
    url = reverse("object-grid", args=[dataset.pk])
    return client.get(f"{url}?{query}" if query else url, headers=headers)


def _shown(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="object-(\d+)"', response.content.decode())]


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owner_and_team_see_every_object_with_its_image_a_click_away(
    client, request, dataset, objects, who
):
    _sample_ids, _task, ann_ids = objects
    client.force_login(request.getfixturevalue(who))
    response = _grid(client, dataset)
    assert response.status_code == 200
    assert _shown(response) == ann_ids
    html = response.content.decode()
    first = Annotation.objects.get(pk=ann_ids[0])
    assert reverse("object-crop", args=[first.pk]) in html
    assert reverse("sample-detail", args=[dataset.pk, first.sample_id]) in html
    assert f"<strong>{first.label}</strong> {first.score:.2f}" in html
    assert f"<strong>{len(ann_ids)}</strong> objects" in html


def test_an_outsider_gets_404_and_anonymous_users_log_in(client, charlie, dataset, objects):
    assert _grid(client, dataset).status_code == 302
    assert reverse("login") in _grid(client, dataset)["Location"]
    client.force_login(charlie)
    assert _grid(client, dataset).status_code == 404


def test_filters_by_task_and_label(client, alice, dataset, objects):
    _sample_ids, task, ann_ids = objects
    other = AnnotationTask.objects.create(
        dataset=dataset, name="other", kind="detection", categories=["car"]
    )
    extra = Annotation.objects.create(
        sample_id=objects[0][0], task=other, label="car", x=1, y=1, w=5, h=5
    )
    client.force_login(alice)
    assert _shown(_grid(client, dataset)) == [*ann_ids, extra.pk]
    assert _shown(_grid(client, dataset, f"task={TASK}")) == ann_ids
    assert _shown(_grid(client, dataset, "task=other")) == [extra.pk]
    cars = list(
        Annotation.objects.filter(task=task, label="car")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert cars and _shown(_grid(client, dataset, f"task={TASK}&label=car")) == cars


def test_filters_by_an_objects_tag_or_by_the_images_of_an_image_tag(
    client, alice, dataset, objects
):
    sample_ids, _task, ann_ids = objects
    picked = [ann_ids[5], ann_ids[1], ann_ids[9]]
    tag_create_objects(dataset=dataset, name="picked-objects", annotation_ids=picked)
    tag_create(dataset=dataset, name="two-images", sample_ids=sample_ids[:2])
    client.force_login(alice)
    response = _grid(client, dataset, "tag=picked-objects")
    assert _shown(response) == sorted(picked)
    assert "<strong>3</strong> objects in the tag" in response.content.decode()
    on_images = Annotation.objects.filter(sample_id__in=sample_ids[:2]).order_by("pk")
    assert _shown(_grid(client, dataset, "tag=two-images")) == [a.pk for a in on_images]


def test_unknown_names_and_unreadable_input_are_one_sentence(client, alice, dataset, objects):
    client.force_login(alice)
    response = _grid(client, dataset, "task=nope")
    assert response.status_code == 400
    assert f"no detection task &#x27;nope&#x27; (known: {TASK})" in response.content.decode()
    response = _grid(client, dataset, "tag=nope")
    assert response.status_code == 400 and "no tag &#x27;nope&#x27;" in response.content.decode()
    assert _grid(client, dataset, "after=abc").status_code == 400
    assert _grid(client, dataset, "padding=7").status_code == 400


def test_pages_follow_annotation_ids_and_htmx_appends_the_next_page(
    client, alice, dataset, objects, settings
):
    _sample_ids, _task, ann_ids = objects
    settings.CURATION_OBJECTS_PAGE_SIZE = 4
    client.force_login(alice)
    first = _grid(client, dataset)
    assert _shown(first) == ann_ids[:4]
    assert f"after={ann_ids[3]}" in first.content.decode()
    more = _grid(
        client, dataset, f"after={ann_ids[3]}", **{"HX-Request": "true", "HX-Target": "more"}
    )
    html = more.content.decode()
    assert _shown(more) == ann_ids[4:8] and "<html" not in html and "objects-filter" not in html
    last = _grid(client, dataset, f"after={ann_ids[-2]}")
    assert _shown(last) == ann_ids[-1:] and 'id="more"' not in last.content.decode()


def test_the_padding_is_passed_to_the_crops_and_the_next_page(
    client, alice, dataset, objects, settings
):
    settings.CURATION_OBJECTS_PAGE_SIZE = 4
    client.force_login(alice)
    html = _grid(client, dataset, "padding=0.5").content.decode()
    assert f"{reverse('object-crop', args=[objects[2][0]])}?padding=0.5" in html
    assert f"?padding=0.5&amp;after={objects[2][3]}" in html
    default = _grid(client, dataset).content.decode()
    assert f'{reverse("object-crop", args=[objects[2][0]])}"' in default


def test_a_page_costs_the_same_queries_whatever_its_size(
    client, alice, dataset, objects, settings, django_assert_max_num_queries
):
    settings.CURATION_OBJECTS_PAGE_SIZE = 200
    tag_create_objects(dataset=dataset, name="o", annotation_ids=objects[2])
    client.force_login(alice)
    with django_assert_max_num_queries(9):  # 9th: the tab bar asks whether there are videos
        response = _grid(client, dataset, "tag=o")
    assert len(_shown(response)) == len(objects[2])


def test_a_dataset_without_boxes_says_so(client, alice, dataset):
    client.force_login(alice)
    response = _grid(client, dataset)
    assert response.status_code == 200 and "has no detection task" in response.content.decode()


def test_the_browser_and_an_objects_tag_page_link_to_the_grid(client, alice, dataset, objects):
    _sample_ids, _task, ann_ids = objects
    images = tag_create(dataset=dataset, name="picked", sample_ids=objects[0][:2])
    tag = tag_create_objects(
        dataset=dataset, name="picked-objects", annotation_ids=ann_ids[:5], linked=images
    )
    client.force_login(alice)
    browser = client.get(reverse("dataset-browser", args=[dataset.pk])).content.decode()
    assert reverse("object-grid", args=[dataset.pk]) in browser
    page = client.get(reverse("tag-detail", args=[dataset.pk, tag.pk])).content.decode()
    assert "<strong>5</strong> objects" in page
    assert f"{reverse('object-grid', args=[dataset.pk])}?tag=picked-objects" in page
    assert reverse("tag-detail", args=[dataset.pk, images.pk]) in page
    assert Tag.objects.get(pk=tag.pk).kind == Tag.Kind.OBJECTS
