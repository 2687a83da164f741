"""The sample detail page: image with boxes, annotations, metadata, tags, neighbours."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import Tag, TagSample


def detail(dataset, sample, query=""):
    base = reverse("sample-detail", args=[dataset.pk, sample.pk])
    return f"{base}?{query}" if query else base


def test_it_shows_the_image_boxes_annotations_metadata_and_neighbours(
    client, alice, dataset, samples, space, train_tag
):
    client.force_login(alice)
    response = client.get(detail(dataset, samples[0]))
    text = response.content.decode()
    assert response.status_code == 200
    assert reverse("sample-image", args=[samples[0].pk]) in text
    # the box (2, 3, 20 x 10 px of a 40 x 30 image) in percent: label text keeps its 12px size
    assert '<rect x="5.000%" y="10.000%" width="50.000%" height="33.333%"' in text
    assert "detector" in text and "0.800" in text  # prediction with probability
    assert "lightly.sharpness" in text and "split" in text
    assert "Nearest neighbours" in text
    neighbours = text.split("Nearest neighbours", 1)[1]
    first = neighbours.index(reverse("sample-detail", args=[dataset.pk, samples[1].pk]))
    assert first == min(
        neighbours.index(reverse("sample-detail", args=[dataset.pk, s.pk]))
        for s in samples[1:]
        if reverse("sample-detail", args=[dataset.pk, s.pk]) in neighbours
    )
    assert 'class="tag">train' in text


def test_previous_and_next_follow_the_filter(client, alice, dataset, samples):
    client.force_login(alice)
    text = client.get(detail(dataset, samples[6], "q=dog")).content.decode()
    assert reverse("sample-detail", args=[dataset.pk, samples[7].pk]) + "?q=dog" in text
    assert reverse("sample-detail", args=[dataset.pk, samples[5].pk]) not in text


def test_adding_and_removing_a_tag(client, bob, dataset, samples, train_tag):
    client.force_login(bob)
    post_url = reverse("sample-tags", args=[dataset.pk, samples[9].pk])
    response = client.post(post_url, {"action": "add", "name": "hard"})
    assert response.status_code == 302
    hard = Tag.objects.get(dataset=dataset, name="hard")
    assert list(hard.samples.values_list("pk", flat=True)) == [samples[9].pk]
    client.post(post_url, {"action": "add", "name": "train"})
    assert train_tag.samples.filter(pk=samples[9].pk).exists()
    response = client.post(
        post_url,
        {"action": "remove", "tag": train_tag.pk},
        headers={"HX-Request": "true", "HX-Target": "sample-tags"},
    )
    text = response.content.decode()
    assert "<html" not in text and 'id="sample-tags"' in text and 'class="tag">hard' in text
    assert not train_tag.samples.filter(pk=samples[9].pk).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "add", "name": "  "}, "A tag needs a name."),
        ({"action": "remove"}, "Choose the tag to remove the sample from."),
    ],
)
def test_the_tag_form_shows_its_error_and_changes_nothing(
    client, alice, dataset, samples, train_tag, data, message
):
    client.force_login(alice)
    before = list(TagSample.objects.values_list("tag_id", "sample_id"))
    response = client.post(
        reverse("sample-tags", args=[dataset.pk, samples[0].pk]),
        data,
        headers={"HX-Request": "true", "HX-Target": "sample-tags"},
    )
    assert message in response.content.decode()
    assert list(TagSample.objects.values_list("tag_id", "sample_id")) == before
    assert Tag.objects.filter(dataset=dataset).count() == 1


def test_a_tag_id_no_page_sends_is_a_400(client, alice, dataset, samples):
    client.force_login(alice)
    url = reverse("sample-tags", args=[dataset.pk, samples[0].pk])
    response = client.post(url, {"action": "remove", "tag": "1; DROP"})
    assert response.status_code == 400
    assert "The tag id &#x27;1; DROP&#x27; is not a number" in response.content.decode()


def test_htmx_get_of_the_tags_fragment(client, alice, dataset, samples, train_tag):
    client.force_login(alice)
    response = client.get(
        detail(dataset, samples[0]), headers={"HX-Request": "true", "HX-Target": "sample-tags"}
    )
    assert b"<html" not in response.content and b'id="sample-tags"' in response.content


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_access_levels(client, request, dataset, samples, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(detail(dataset, samples[0])).status_code == status
    response = client.post(reverse("sample-tags", args=[dataset.pk, samples[0].pk]), {"name": "x"})
    assert response.status_code == (302 if status == 200 else 404)
    assert Tag.objects.filter(name="x").exists() is (status == 200)


def test_anonymous_is_sent_to_login(client, dataset, samples):
    response = client.get(detail(dataset, samples[0]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_sample_of_another_dataset_is_404(client, alice, dataset, samples, private_dataset):
    client.force_login(alice)
    response = client.get(reverse("sample-detail", args=[private_dataset.pk, samples[0].pk]))
    assert response.status_code == 404


def test_query_count(
    client, alice, dataset, samples, space, train_tag, django_assert_max_num_queries
):
    client.force_login(alice)
    with django_assert_max_num_queries(15):  # 15th: the tab bar asks whether there are videos
        assert client.get(detail(dataset, samples[0], "tag=train")).status_code == 200
