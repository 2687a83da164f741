"""Tag pages: list, create from checked samples / filter, combine, rename, delete, export."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import Tag, TagSample


def members(tag):
    return sorted(TagSample.objects.filter(tag=tag).values_list("sample_id", flat=True))


def test_list_shows_tags_with_sizes(client, alice, dataset, train_tag):
    client.force_login(alice)
    text = client.get(reverse("tag-list", args=[dataset.pk])).content.decode()
    assert "train" in text and '<td class="num">4</td>' in text


def test_htmx_gets_the_table_fragment(client, alice, dataset, train_tag):
    client.force_login(alice)
    response = client.get(
        reverse("tag-list", args=[dataset.pk]),
        headers={"HX-Request": "true", "HX-Target": "tag-table"},
    )
    assert b"<html" not in response.content and b'id="tag-table"' in response.content


def test_create_from_checked_samples(client, bob, dataset, samples):
    client.force_login(bob)
    back = reverse("dataset-browser", args=[dataset.pk]) + "?q=cat"
    response = client.post(
        reverse("tag-list", args=[dataset.pk]),
        {
            "action": "create_checked",
            "name": "picked",
            "sample": [samples[1].pk, samples[3].pk],
            "next": back,
        },
    )
    assert response.status_code == 302 and response["Location"] == back
    tag = Tag.objects.get(name="picked")
    assert members(tag) == [samples[1].pk, samples[3].pk] and tag.created_by == bob


def test_create_from_filter(client, alice, dataset, samples):
    client.force_login(alice)
    client.post(
        reverse("tag-list", args=[dataset.pk]),
        {"action": "create_filter", "name": "dogs", "filter": "q=dog"},
    )
    assert members(Tag.objects.get(name="dogs")) == sorted(s.pk for s in samples[6:])


def test_errors_are_messages(client, alice, dataset, samples, train_tag):
    client.force_login(alice)
    response = client.post(
        reverse("tag-list", args=[dataset.pk]),
        {"action": "create_checked", "name": "train", "sample": [samples[0].pk]},
        follow=True,
    )
    assert "already exists" in response.content.decode()
    response = client.post(
        reverse("tag-list", args=[dataset.pk]),
        {"action": "create_checked", "name": "x"},
        follow=True,
    )
    assert "Check at least one sample" in response.content.decode()
    assert not Tag.objects.filter(name="x").exists()


def test_add_checked_to_an_existing_tag_and_combine(client, alice, dataset, samples, train_tag):
    client.force_login(alice)
    client.post(
        reverse("tag-list", args=[dataset.pk]),
        {"action": "add_checked", "tag": train_tag.pk, "sample": [samples[10].pk]},
    )
    assert samples[10].pk in members(train_tag)
    other = Tag.objects.create(dataset=dataset, name="other")
    TagSample.objects.create(tag=other, sample=samples[0])
    client.post(
        reverse("tag-list", args=[dataset.pk]),
        {
            "action": "combine",
            "operation": "difference",
            "tags": [train_tag.pk, other.pk],
            "name": "rest",
        },
    )
    assert members(Tag.objects.get(name="rest")) == sorted(
        s.pk for s in [samples[1], samples[2], samples[3], samples[10]]
    )


def test_rename_and_delete(client, alice, dataset, train_tag):
    client.force_login(alice)
    client.post(reverse("tag-detail", args=[dataset.pk, train_tag.pk]), {"name": "training"})
    train_tag.refresh_from_db()
    assert train_tag.name == "training"
    page = client.get(reverse("tag-delete", args=[dataset.pk, train_tag.pk]))
    assert "Delete tag training?" in page.content.decode()
    client.post(reverse("tag-delete", args=[dataset.pk, train_tag.pk]))
    assert not Tag.objects.filter(pk=train_tag.pk).exists()


def test_export_downloads_the_file_names(client, alice, dataset, samples, train_tag):
    client.force_login(alice)
    response = client.get(
        reverse("tag-export", args=[dataset.pk, train_tag.pk]) + "?format=filenames"
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert sorted(body.split()) == sorted(s.file_name for s in samples[:4])


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_access_levels(client, request, dataset, train_tag, who, status):
    client.force_login(request.getfixturevalue(who))
    for name in ("tag-detail", "tag-delete", "tag-export"):
        assert client.get(reverse(name, args=[dataset.pk, train_tag.pk])).status_code == status
    assert client.get(reverse("tag-list", args=[dataset.pk])).status_code == status
    client.post(reverse("tag-delete", args=[dataset.pk, train_tag.pk]))
    assert Tag.objects.filter(pk=train_tag.pk).exists() is (status == 404)


def test_anonymous_is_sent_to_login(client, dataset, train_tag):
    for url in (
        reverse("tag-list", args=[dataset.pk]),
        reverse("tag-detail", args=[dataset.pk, train_tag.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_query_count(client, alice, dataset, train_tag, django_assert_max_num_queries):
    for i in range(20):
        Tag.objects.create(dataset=dataset, name=f"t{i}")
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        client.get(reverse("tag-list", args=[dataset.pk]))


def test_the_browser_offers_existing_tags_for_checked_samples(client, bob, dataset, train_tag):
    client.force_login(bob)
    text = client.get(reverse("dataset-browser", args=[dataset.pk])).content.decode()
    assert f'<option value="{train_tag.pk}">train</option>' in text
    assert 'value="add_checked"' in text and 'value="remove_checked"' in text


def test_remove_checked_and_a_nameless_new_tag(client, bob, dataset, samples, train_tag):
    client.force_login(bob)
    before = members(train_tag)
    response = client.post(
        reverse("tag-list", args=[dataset.pk]),
        {"action": "remove_checked", "tag": train_tag.pk, "sample": [before[0]]},
        follow=True,
    )
    assert "1 samples removed from &#x27;train&#x27;" in response.content.decode()
    assert members(train_tag) == before[1:]
    response = client.post(
        reverse("tag-list", args=[dataset.pk]),
        {"action": "create_checked", "name": " ", "sample": [samples[0].pk]},
        follow=True,
    )
    assert "A tag needs a name." in response.content.decode()
    assert Tag.objects.filter(dataset=dataset).count() == 1


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_a_refused_rename_keeps_the_tag_and_shows_the_typed_name(
    client, request, who, dataset, train_tag
):
    Tag.objects.create(dataset=dataset, name="taken")
    client.force_login(request.getfixturevalue(who))
    url = reverse("tag-detail", args=[dataset.pk, train_tag.pk])
    response = client.post(url, {"name": "taken"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "already exists" in html
    assert 'value="taken"' in html  # what was typed stays in the field
    train_tag.refresh_from_db()
    assert train_tag.name == "train"


def test_outsiders_cannot_rename(client, charlie, dataset, train_tag):
    client.force_login(charlie)
    url = reverse("tag-detail", args=[dataset.pk, train_tag.pk])
    assert client.post(url, {"name": "mine"}).status_code == 404
    train_tag.refresh_from_db()
    assert train_tag.name == "train"


def test_an_unknown_action_is_a_message_and_changes_nothing(client, bob, dataset, train_tag):
    client.force_login(bob)
    before = Tag.objects.count()
    response = client.post(
        reverse("tag-list", args=[dataset.pk]), {"action": "drop", "name": "x"}, follow=True
    )
    assert "Unknown tag action" in response.content.decode()
    assert Tag.objects.count() == before
