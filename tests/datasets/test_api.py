"""``/api/datasets/``: list, create, detail, delete at every access level."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from curation.models import Dataset, Sample, Tag
from tests.support.api import iso
from tests.support.jobs import run_job


def dataset_json(dataset, *, samples=0, tags=0, can_delete=False):
    return {
        "id": dataset.pk,
        "name": dataset.name,
        "description": dataset.description,
        "image_root": dataset.image_root,
        "owner": dataset.owner.username,
        "team": dataset.team.name if dataset.team else None,
        "sample_count": samples,
        "tag_count": tags,
        "can_delete": can_delete,
        "created": iso(dataset.created),
        "updated": iso(dataset.updated),
    }


@pytest.fixture
def others(charlie):
    return Dataset.objects.create(name="charlies", owner=charlie)


def test_owner_lists_own_datasets_with_counts(api, dataset, private_dataset, others):
    Sample.objects.create(dataset=dataset, file_name="a.jpg")
    Tag.objects.create(dataset=dataset, name="t")
    response = api("alice").get("/api/datasets/")
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            dataset_json(dataset, samples=1, tags=1, can_delete=True),
            dataset_json(private_dataset, can_delete=True),
        ],
    }


def test_team_member_sees_only_the_team_dataset(api, dataset, private_dataset, others):
    response = api("bob").get("/api/datasets/")
    assert response.json()["results"] == [dataset_json(dataset)]


def test_outsider_sees_only_their_own(api, dataset, private_dataset, others):
    response = api("charlie").get("/api/datasets/")
    assert response.json()["results"] == [dataset_json(others, can_delete=True)]


def test_staff_sees_everything(api, dataset, private_dataset, others):
    response = api("staff").get("/api/datasets/")
    assert [d["name"] for d in response.json()["results"]] == ["cats", "alice-private", "charlies"]


def test_anonymous_gets_401(api, dataset):
    response = api("anonymous").get("/api/datasets/")
    assert response.status_code == 401


def test_the_list_is_cursor_paginated_by_id(api, alice):
    made = [Dataset.objects.create(name=f"d{i}", owner=alice) for i in range(5)]
    client = api("alice")
    first = client.get("/api/datasets/?page_size=2").json()
    assert [d["id"] for d in first["results"]] == [made[0].pk, made[1].pk]
    second = client.get(first["next"]).json()
    assert [d["id"] for d in second["results"]] == [made[2].pk, made[3].pk]
    third = client.get(second["next"]).json()
    assert [d["id"] for d in third["results"]] == [made[4].pk]
    assert third["next"] is None
    back = client.get(third["previous"]).json()
    assert [d["id"] for d in back["results"]] == [made[2].pk, made[3].pk]


@pytest.mark.parametrize("query", ["cursor=garbage", "cursor=cD1hYmM%3D", "page_size=0",
                                   "page_size=501", "page_size=x"])  # fmt: skip
def test_bad_pagination_parameters_are_400(api, dataset, query):
    response = api("alice").get(f"/api/datasets/?{query}")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "path"}


def test_create_makes_a_private_dataset(api, alice):
    response = api("alice").post("/api/datasets/", {"name": " dogs ", "description": "d"})
    assert response.status_code == 201
    dataset = Dataset.objects.get(name="dogs")
    assert (dataset.owner, dataset.team, dataset.description) == (alice, None, "d")
    assert response.json() == dataset_json(dataset, can_delete=True)


def test_create_shares_with_one_of_my_teams(api, alice, team):
    response = api("alice").post("/api/datasets/", {"name": "dogs", "team": "vision-team"})
    assert response.status_code == 201
    assert Dataset.objects.get(name="dogs").team == team
    assert response.json()["team"] == "vision-team"


def test_create_refuses_a_team_i_am_not_in(api, charlie, team):
    Group.objects.create(name="other")
    response = api("charlie").post("/api/datasets/", {"name": "dogs", "team": "vision-team"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "team: You are not a member of a team named 'vision-team'.",
        "path": "team",
    }
    assert not Dataset.objects.filter(name="dogs").exists()


def test_create_refuses_a_taken_name(api, dataset):
    response = api("bob").post("/api/datasets/", {"name": "cats"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "A dataset named 'cats' already exists: choose another name."
    }
    assert Dataset.objects.count() == 1


def test_create_by_anonymous_is_401_and_writes_nothing(api, db):
    assert api("anonymous").post("/api/datasets/", {"name": "x"}).status_code == 401
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("who,can_delete", [("alice", True), ("bob", False), ("staff", True)])
def test_detail_for_those_who_see_it(api, dataset, who, can_delete):
    response = api(who).get(f"/api/datasets/{dataset.pk}/")
    assert response.status_code == 200
    assert response.json() == dataset_json(dataset, can_delete=can_delete)


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_detail_is_hidden_from_others(api, dataset, who, code):
    response = api(who).get(f"/api/datasets/{dataset.pk}/")
    assert response.status_code == code
    if code == 404:
        assert response.json() == {"detail": "No such dataset."}


def test_detail_of_a_private_dataset_is_404_for_the_team(api, private_dataset):
    assert api("bob").get(f"/api/datasets/{private_dataset.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["alice", "staff"])
def test_owner_and_staff_delete(api, dataset, who):
    Sample.objects.create(dataset=dataset, file_name="a.jpg")
    response = api(who).delete(f"/api/datasets/{dataset.pk}/")
    assert Dataset.objects.get().deleting  # hidden at once; the job deletes
    job = run_job(api, who, response)
    assert job["kind"] == "delete" and job["status"] == "succeeded", job
    assert job["dataset"] is None and job["dataset_name"] == "cats"
    assert not Dataset.objects.exists()
    assert not Sample.objects.exists()


def test_team_member_gets_403_with_a_reason(api, dataset):
    response = api("bob").delete(f"/api/datasets/{dataset.pk}/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the owner of cats (alice) or staff may delete it; ask them."
    }
    assert Dataset.objects.filter(pk=dataset.pk).exists()


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_outsiders_cannot_delete(api, dataset, who, code):
    assert api(who).delete(f"/api/datasets/{dataset.pk}/").status_code == code
    assert Dataset.objects.filter(pk=dataset.pk).exists()
