"""``view=NAME`` (a saved view) in a selection run's candidate filter — over the API, in the
selection dialog and in ``manage.py select --where`` — resolved for the requesting user: the
owner's private view works for the owner only, a team-shared view for every team member, an
outsider never gets as far as the view. The run stores the expanded filter, never ``view=``."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from curation.browse.saved_views import saved_view_create
from curation.filters import SampleFilter
from curation.models import SavedView, SelectionRun, Tag
from tests.support.selection import diversity, populate, runs_and_tags

SHARP = "min:lightly.sharpness=50"


@pytest.fixture
def views(dataset, alice):
    """alice's private view ``mine`` and her team view ``shared``, both sharpness >= 50."""
    ids = populate(dataset, n=40)
    sharp = SampleFilter.parse(SHARP)
    for name, visibility in (("mine", "private"), ("shared", "team")):
        saved_view_create(
            dataset=dataset, owner=alice, name=name, sample_filter=sharp, visibility=visibility
        )
    return ids


def _sharpness(dataset) -> list[float]:
    return [m["lightly.sharpness"] for m in dataset.samples.values_list("metadata", flat=True)]


def _sharp_count(dataset) -> int:
    return sum(1 for v in _sharpness(dataset) if v >= 50)


def _expanded(run: SelectionRun) -> None:
    """The run stores the view's own conditions (re-runs never depend on the view)."""
    assert "view" not in run.candidate_filter
    assert SampleFilter.parse(run.candidate_filter) == SampleFilter.parse(SHARP)
    assert run.candidate_count == _sharp_count(run.dataset) > 0


class TestApi:
    def start(self, api, dataset, who, view):
        body = {"config": diversity(3), "result_tag_name": "picked", "filter": f"view={view}"}
        return api(who).post(f"/api/datasets/{dataset.pk}/runs/", body, format="json")

    @pytest.mark.parametrize(
        ("who", "view"), [("alice", "mine"), ("alice", "shared"), ("bob", "shared")]
    )
    def test_a_usable_view_is_the_candidates(self, api, dataset, views, who, view):
        response = self.start(api, dataset, who, view)
        assert response.status_code == 201, response.json()
        _expanded(SelectionRun.objects.get())

    def test_someone_elses_private_view_is_a_400_and_writes_nothing(self, api, dataset, views):
        response = self.start(api, dataset, "bob", "mine")
        assert response.status_code == 400
        assert "has no saved view of that name that you may use" in json.dumps(response.json())
        assert runs_and_tags(dataset) == (0, 0)

    def test_an_outsider_gets_404(self, api, dataset, views):
        assert self.start(api, dataset, "charlie", "shared").status_code == 404
        assert runs_and_tags(dataset) == (0, 0)


class TestDialog:
    def url(self, dataset, view):
        return reverse("selection-dialog", args=[dataset.pk]) + f"?view={view}"

    @pytest.mark.parametrize(("who", "view"), [("alice", "mine"), ("bob", "shared")])
    def test_a_usable_view_gives_the_candidates(self, client, request, dataset, views, who, view):
        client.force_login(request.getfixturevalue(who))
        html = client.get(self.url(dataset, view)).content.decode()
        assert f'<strong id="candidate-count">{_sharp_count(dataset)}</strong>' in html
        assert 'id="start-selection" disabled' not in html

    def test_someone_elses_private_view_disables_start(self, client, bob, dataset, views):
        client.force_login(bob)
        html = client.get(self.url(dataset, "mine")).content.decode()
        assert "has no saved view of that name that you may use" in html
        assert 'id="start-selection" disabled' in html

    def test_starting_from_a_view_stores_its_filter(self, client, bob, dataset, views):
        client.force_login(bob)
        form = {
            "action": "start",
            "rows": "1",
            "count_mode": "n",
            "n_samples": "3",
            "s0-strategy": "DIVERSITY",
            "s0-input": "EMBEDDINGS",
            "s0-strength": "1.0",
            "result_tag_name": "picked",
            "mask_tag": "",
            "preselected_tag": "",
            "preset": "",
            "loaded_preset": "",
        }
        response = client.post(self.url(dataset, "shared"), form)
        assert response.status_code == 302, response.content.decode()[:2000]
        _expanded(SelectionRun.objects.get())

    def test_an_outsider_gets_404(self, client, charlie, dataset, views):
        client.force_login(charlie)
        assert client.get(self.url(dataset, "shared")).status_code == 404


class TestCommand:
    @pytest.fixture
    def config(self, tmp_path):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(diversity(3)))
        return str(path)

    def select(self, config, *extra):
        call_command("select", "cats", "--config", config, "--tag", "picked", *extra)
        return SelectionRun.objects.get()

    def test_the_owner_is_the_default_user(self, dataset, views, config):
        run = self.select(config, "--where", "view=mine")
        _expanded(run)
        assert run.created_by.username == "alice"

    def test_a_team_member_uses_the_shared_view(self, dataset, views, config, bob):
        run = self.select(config, "--where", "view=shared", "--user", "bob")
        _expanded(run)
        assert run.created_by.username == "bob"

    def test_someone_elses_private_view_is_one_line_and_writes_nothing(
        self, dataset, views, config, bob
    ):
        with pytest.raises(CommandError, match="has no saved view of that name that you may use"):
            self.select(config, "--where", "view=mine", "--user", "bob")
        assert runs_and_tags(dataset) == (0, 0)
        assert not Tag.objects.filter(name="picked").exists()

    def test_an_outsider_never_reaches_the_view(self, dataset, views, config, charlie):
        with pytest.raises(CommandError, match="No dataset named 'cats' visible to charlie"):
            self.select(config, "--where", "view=shared", "--user", "charlie")
        assert runs_and_tags(dataset) == (0, 0)

    def test_further_conditions_refine_the_view(self, dataset, views, config):
        run = self.select(config, "--where", "view=mine&max:lightly.sharpness=80")
        expected = sum(1 for v in _sharpness(dataset) if 50 <= v <= 80)
        assert run.candidate_count == expected < _sharp_count(dataset)

    def test_the_view_is_still_private_after_the_run(self, dataset, views, config):
        self.select(config, "--where", "view=mine")
        assert SavedView.objects.get(name="mine").visibility == "private"
