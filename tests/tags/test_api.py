"""``/api/datasets/{id}/tags/``: CRUD, bulk add / remove, set operations."""

from __future__ import annotations

import pytest

from curation.models import Tag, TagSample
from curation.tags.services import tag_create
from tests.support.api import iso


@pytest.fixture
def samples(three_samples):
    """This module's ``samples``: the API fixture's three samples (not the browsing pages')."""
    return three_samples


def members(tag) -> list[str]:
    return sorted(TagSample.objects.filter(tag=tag).values_list("sample__file_name", flat=True))


def tag_json(tag, count):
    return {
        "id": tag.pk,
        "name": tag.name,
        "kind": tag.kind,
        "description": tag.description,
        "sample_count": count,
        "created_by": tag.created_by.username if tag.created_by else None,
        "created": iso(tag.created),
    }


@pytest.fixture
def train(samples, alice):
    return tag_create(
        dataset=samples[0].dataset,
        name="train",
        sample_ids=[samples[0].pk, samples[1].pk],
        created_by=alice,
    )


def url(dataset, *parts):
    return "/".join([f"/api/datasets/{dataset.pk}/tags", *map(str, parts)]) + "/"


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_lists_tags_with_counts(api, dataset, train, who):
    response = api(who).get(url(dataset))
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": [tag_json(train, 2)]}


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_list(api, dataset, train, who, code):
    assert api(who).get(url(dataset)).status_code == code


def test_team_member_creates_a_tag_from_ids(api, dataset, samples, bob):
    response = api("bob").post(url(dataset), {"name": "val", "sample_ids": [samples[2].pk]})
    assert response.status_code == 201
    tag = Tag.objects.get(dataset=dataset, name="val")
    assert (tag.created_by, members(tag)) == (bob, ["c.jpg"])
    assert response.json() == tag_json(tag, 1)


@pytest.mark.parametrize(
    "flt", ["width_min=300", {"width_min": "300"}, {"width_min": 300, "q": ["jpg"]}]
)
def test_it_creates_a_tag_from_a_filter(api, dataset, samples, flt):
    response = api("alice").post(url(dataset), {"name": "big", "filter": flt})
    assert response.status_code == 201, response.json()
    tag = Tag.objects.get(dataset=dataset, name="big")
    assert members(tag) == ["a.jpg", "b.jpg"]
    assert response.json()["sample_count"] == 2


@pytest.mark.parametrize(
    "body,detail,path",
    [
        ({"name": "train"}, "A tag named 'train' already exists in cats.", None),
        ({"name": "x", "sample_ids": [999999]}, "1 of the samples do not belong to cats.", None),
        (
            {"name": "x", "sample_ids": ["a"]},
            "sample_ids[0]: A valid integer is required.",
            "sample_ids[0]",
        ),
        (
            {"name": "x", "sample_ids": [2**70]},
            "Malformed JSON: the number 1180591620717411303424 is too large",
            None,
        ),
        (
            {"name": "x", "filter": "colour=red"},
            "filter: Unknown filter parameter 'colour'",
            "filter",
        ),
        (
            {"name": "x", "filter": {"tag": {"a": 1}}},
            "filter: The value of 'tag' must be",
            "filter",
        ),
        (
            {"name": "x", "filter": "tag=a", "sample_ids": [1]},
            "Give either sample_ids or filter, not both.",
            None,
        ),
        (
            {"name": "x", "colour": "red"},
            "colour: Unknown field. Allowed fields: description, filter, name, sample_ids.",
            "colour",
        ),
        ({"name": 5}, "name: Not a valid string.", "name"),
        ({}, "name: This field is required.", "name"),
        ([1, 2], "Invalid data. Expected a dictionary, but got list.", None),
    ],
)
def test_bad_create_is_400_and_writes_nothing(api, dataset, train, body, detail, path):
    response = api("alice").post(url(dataset), body)
    assert response.status_code == 400
    data = response.json()
    assert data["detail"].startswith(detail)
    assert data.get("path") == path
    assert list(Tag.objects.values_list("name", flat=True)) == ["train"]


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_create(api, dataset, samples, who, code):
    assert api(who).post(url(dataset), {"name": "x"}).status_code == code
    assert not Tag.objects.exists()


def test_detail(api, dataset, train):
    response = api("bob").get(url(dataset, train.pk))
    assert response.json() == tag_json(train, 2)


def test_a_tag_of_another_dataset_is_404(api, dataset, private_dataset, train):
    response = api("alice").get(url(private_dataset, train.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": "No such tag in this dataset."}


def test_team_member_renames(api, dataset, train):
    response = api("bob").patch(url(dataset, train.pk), {"name": "training"})
    assert response.status_code == 200
    train.refresh_from_db()
    assert train.name == "training"
    assert response.json() == tag_json(train, 2)


def test_description_changes_alone(api, dataset, train):
    response = api("bob").patch(url(dataset, train.pk), {"description": "hand-picked"})
    assert response.status_code == 200
    train.refresh_from_db()
    assert (train.name, train.description) == ("train", "hand-picked")


def test_an_empty_update_is_400(api, dataset, train):
    response = api("bob").patch(url(dataset, train.pk), {})
    assert response.status_code == 400
    assert "Give a name, a description or both" in str(response.json())


def test_rename_to_a_taken_name_is_400(api, dataset, train):
    tag_create(dataset=dataset, name="val", sample_ids=[])
    response = api("bob").patch(url(dataset, train.pk), {"name": "val"})
    assert response.status_code == 400
    assert response.json() == {"detail": "A tag named 'val' already exists in cats."}
    train.refresh_from_db()
    assert train.name == "train"


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_rename_or_delete(api, dataset, train, who, code):
    assert api(who).patch(url(dataset, train.pk), {"name": "x"}).status_code == code
    assert api(who).delete(url(dataset, train.pk)).status_code == code
    train.refresh_from_db()
    assert train.name == "train"


def test_team_member_deletes_a_tag_keeping_its_samples(api, dataset, samples, train):
    response = api("bob").delete(url(dataset, train.pk))
    assert response.status_code == 204
    assert not Tag.objects.exists()
    assert dataset.samples.count() == 3


def test_add_by_ids_and_by_filter(api, dataset, samples, train):
    client = api("bob")
    response = client.post(
        url(dataset, train.pk, "add"), {"sample_ids": [samples[1].pk, samples[2].pk]}
    )
    assert response.status_code == 200
    assert response.json() == {"changed": 1, "tag": tag_json(train, 3)}
    client.post(url(dataset, train.pk, "remove"), {"sample_ids": [samples[2].pk]})
    response = client.post(url(dataset, train.pk, "add"), {"filter": "q=c.jpg"})
    assert response.json()["changed"] == 1
    assert members(train) == ["a.jpg", "b.jpg", "c.jpg"]


def test_remove_by_ids_and_by_filter(api, dataset, samples, train):
    client = api("alice")
    response = client.post(url(dataset, train.pk, "remove"), {"sample_ids": [samples[0].pk]})
    assert response.json() == {"changed": 1, "tag": tag_json(train, 1)}
    response = client.post(url(dataset, train.pk, "remove"), {"filter": {"q": "b"}})
    assert response.json() == {"changed": 1, "tag": tag_json(train, 0)}
    assert members(train) == []


@pytest.mark.parametrize(
    "body,detail",
    [
        ({}, "Give either sample_ids or filter (one of them)."),
        ({"sample_ids": [1], "filter": "q=a"}, "Give either sample_ids or filter (one of them)."),
        ({"sample_ids": [987654]}, "1 of the samples do not belong to this dataset."),
        ({"filter": "tag=nope"}, "No tag named 'nope' in dataset 'cats'."),
        ({"sample_ids": "1,2"}, 'sample_ids: Expected a list of items but got type "str".'),
    ],
)
def test_bad_add_is_400_and_changes_nothing(api, dataset, samples, train, body, detail):
    response = api("alice").post(url(dataset, train.pk, "add"), body)
    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert members(train) == ["a.jpg", "b.jpg"]


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_add_or_remove(api, dataset, samples, train, who, code):
    body = {"sample_ids": [samples[2].pk]}
    assert api(who).post(url(dataset, train.pk, "add"), body).status_code == code
    assert (
        api(who).post(url(dataset, train.pk, "remove"), {"sample_ids": [samples[0].pk]}).status_code
        == code
    )
    assert members(train) == ["a.jpg", "b.jpg"]


@pytest.mark.parametrize(
    "operation,expected",
    [
        ("union", ["a.jpg", "b.jpg", "c.jpg"]),
        ("intersection", ["b.jpg"]),
        ("difference", ["a.jpg"]),
    ],
)
def test_combine(api, dataset, samples, train, operation, expected):
    val = tag_create(dataset=dataset, name="val", sample_ids=[samples[1].pk, samples[2].pk])
    body = {"name": "out", "operation": operation, "tags": [train.pk, val.pk]}
    response = api("bob").post(url(dataset, "combine"), body)
    assert response.status_code == 201
    out = Tag.objects.get(name="out")
    assert members(out) == expected
    assert response.json() == tag_json(out, len(expected))


@pytest.mark.parametrize(
    "body,detail",
    [
        (
            {"name": "o", "operation": "xor", "tags": [0, 0]},
            'operation: "xor" is not a valid choice.',
        ),
        (
            {"name": "o", "operation": "union", "tags": [1]},
            "tags: Ensure this field has at least 2 elements.",
        ),
        ({"name": "o", "operation": "union", "tags": "TRAIN"}, None),
        (
            {"name": "train", "operation": "union", "tags": "VAL"},
            "A tag named 'train' already exists in cats.",
        ),
        (
            {"name": "o", "operation": "union", "tags": [123456, "TRAIN"]},
            "tags: No tag with id 123456 in cats.",
        ),
    ],
)
def test_bad_combine_is_400(api, dataset, samples, train, private_dataset, body, detail):
    val = tag_create(dataset=dataset, name="val", sample_ids=[])
    if body["tags"] == "VAL":
        body = {**body, "tags": [train.pk, val.pk]}
    elif isinstance(body["tags"], list):
        body = {**body, "tags": [train.pk if t == "TRAIN" else t for t in body["tags"]]}
    response = api("alice").post(url(dataset, "combine"), body)
    assert response.status_code == 400
    if detail:
        assert response.json()["detail"] == detail
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["train", "val"]


def test_combine_cannot_reach_into_another_dataset(api, dataset, private_dataset, train):
    foreign = tag_create(dataset=private_dataset, name="p", sample_ids=[])
    body = {"name": "o", "operation": "union", "tags": [train.pk, foreign.pk]}
    response = api("bob").post(url(dataset, "combine"), body)
    assert response.status_code == 400
    assert response.json()["detail"] == f"tags: No tag with id {foreign.pk} in cats."
