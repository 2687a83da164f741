"""``POST /api/runs/{id}/keep-first/`` at every access level."""

from __future__ import annotations

import pytest

from curation.models import SelectionRun, Tag


@pytest.fixture
def run(dataset, alice, three_samples) -> SelectionRun:
    return SelectionRun.objects.create(
        dataset=dataset,
        config={},
        requested_n=3,
        result_tag_name="picked",
        status=SelectionRun.Status.SUCCEEDED,
        pick_order=[s.pk for s in reversed(three_samples)],
        created_by=alice,
    )


@pytest.mark.django_db
class TestKeepFirst:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_keeps_the_first_picks(self, api, run, three_samples, who) -> None:
        response = api(who).post(f"/api/runs/{run.pk}/keep-first/", {"k": 2}, format="json")
        assert response.status_code == 201
        assert response.json()["name"] == "picked-first-2"
        tag = Tag.objects.get(name="picked-first-2")
        assert set(tag.memberships.values_list("sample_id", flat=True)) == {
            three_samples[2].pk,
            three_samples[1].pk,
        }

    @pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
    def test_it_is_refused_without_access(self, api, run, who, code) -> None:
        assert (
            api(who).post(f"/api/runs/{run.pk}/keep-first/", {"k": 1}, format="json").status_code
            == code
        )
        assert not Tag.objects.exists()

    def test_bad_input_is_one_sentence(self, api, run) -> None:
        client = api("alice")
        response = client.post(f"/api/runs/{run.pk}/keep-first/", {"k": 4}, format="json")
        assert response.json()["detail"] == "k: must be at most 3, the run's pick count."
        response = client.post(f"/api/runs/{run.pk}/keep-first/", {"k": "2"}, format="json")
        assert response.status_code == 400
        client.post(f"/api/runs/{run.pk}/keep-first/", {"k": 1, "tag_name": "t"}, format="json")
        response = client.post(
            f"/api/runs/{run.pk}/keep-first/", {"k": 1, "tag_name": "t"}, format="json"
        )
        assert response.status_code == 400 and "already exists" in response.json()["detail"]
        assert Tag.objects.count() == 1
