"""Selection runs over the API: start (config or preset), status, cancel, re-run, result."""

from __future__ import annotations

import pytest

from curation.models import SelectionRun, StrategyPreset, Tag
from curation.runs.services import selection_run_execute
from tests.support.api import iso

CONFIG = {
    "n_samples": 5,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


def run_json(run):
    return {
        "id": run.pk,
        "dataset": run.dataset_id,
        "preset": run.preset_id,
        "status": run.status,
        "progress": run.progress,
        "picks_done": run.picks_done,
        "candidate_count": run.candidate_count,
        "candidates": (
            f"{run.candidate_count} candidates ({run.options['counts']['masked']} masked, "
            f"{run.options['counts']['preselected']} pre-selected)"
            if "counts" in run.options
            else None
        ),
        "requested_n": run.requested_n,
        "selected_count": run.selected_count,
        "result_tag_name": run.result_tag_name,
        "result_tag": run.result_tag_id,
        "stopped_by": run.stopped_by,
        "message": run.message,
        "error": run.error,
        "config": run.config,
        "candidate_filter": run.candidate_filter,
        "options": run.options,
        "timings": run.timings,
        "created_by": run.created_by.username if run.created_by else None,
        "created": iso(run.created),
        "started_at": iso(run.started_at) if run.started_at else None,
        "finished_at": iso(run.finished_at) if run.finished_at else None,
        "duration_seconds": run.duration_seconds,
    }


def start(api, dataset, who="bob", **body):
    body = {"config": CONFIG, "result_tag_name": "picked", **body}
    return api(who).post(f"/api/datasets/{dataset.pk}/runs/", body)


def test_team_member_starts_a_run_with_a_config_and_filter(api, dataset, populated, bob):
    response = start(api, dataset, filter={"min:lightly.sharpness": "50"})
    assert response.status_code == 201, response.json()
    run = SelectionRun.objects.get()
    assert (run.status, run.created_by, run.config, run.result_tag_name) == (
        "queued",
        bob,
        CONFIG,
        "picked",
    )
    assert run.candidate_filter == {"min:lightly.sharpness": ["50"]}
    assert response.json() == run_json(run)


def test_it_starts_from_a_visible_preset(api, dataset, populated, alice, team):
    preset = StrategyPreset.objects.create(
        owner=alice, name="p", config=CONFIG, visibility="team", team=team
    )
    response = api("bob").post(
        f"/api/datasets/{dataset.pk}/runs/", {"preset": preset.pk, "result_tag_name": "picked"}
    )
    assert response.status_code == 201
    run = SelectionRun.objects.get()
    assert (run.preset, run.config) == (preset, CONFIG)


def test_an_invisible_preset_is_an_unknown_id(api, dataset, populated, charlie, alice):
    preset = StrategyPreset.objects.create(owner=alice, name="p", config=CONFIG)
    response = api("bob").post(
        f"/api/datasets/{dataset.pk}/runs/", {"preset": preset.pk, "result_tag_name": "picked"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"preset: No preset with id {preset.pk}.",
        "path": "preset",
    }
    assert not SelectionRun.objects.exists()


@pytest.mark.parametrize(
    "body,detail,path",
    [
        ({"config": {**CONFIG, "n_samples": 0}}, "n_samples", "n_samples"),
        (
            {
                "config": {
                    "n_samples": 5,
                    "strategies": [
                        {
                            "input": {"type": "EMBEDDINGS"},
                            "strategy": {"type": "DIVERSITY", "operation": "X"},
                        }
                    ],
                }
            },
            "strategies[0].strategy.operation",
            "strategies[0].strategy.operation",
        ),
        ({"config": {**CONFIG, "n_samples": 10**30}}, "Malformed JSON: the number 10000", None),
        (
            {"result_tag_name": ""},
            "result_tag_name: This field may not be blank.",
            "result_tag_name",
        ),
        ({"mask_tag": "nope"}, "mask_tag: no tag named 'nope'", "mask_tag"),
        ({"filter": "tag=nope"}, "No tag named 'nope'", "candidate_filter"),
        (
            {"filter": "q=zzzz"},
            "candidate_filter: no sample of dataset 'cats' matches",
            "candidate_filter",
        ),
        ({"preset": 5}, "Give either config or preset (one of them).", None),
        ({"preset": "5", "config": None}, "preset: A valid integer is required.", "preset"),
        ({"n": 5}, "n: Unknown field.", "n"),
    ],
)
def test_bad_start_is_400_and_writes_nothing(api, dataset, populated, body, detail, path):
    if body.get("config", "x") is None:
        body = {"preset": "5"}
        response = api("bob").post(
            f"/api/datasets/{dataset.pk}/runs/", {**body, "result_tag_name": "t"}
        )
    else:
        response = start(api, dataset, **body)
    assert response.status_code == 400, response.json()
    assert detail in response.json()["detail"]
    assert response.json().get("path") == path
    assert not SelectionRun.objects.exists()
    assert not Tag.objects.filter(name="picked").exists()


def test_an_n_samples_beyond_any_dataset_is_accepted_and_recorded(api, dataset, populated):
    """n above the candidate count selects them all (semantics doc), even for huge n."""
    response = start(api, dataset, config={**CONFIG, "n_samples": 2**40})
    assert response.status_code == 201, response.json()
    assert SelectionRun.objects.get().requested_n == 2**40


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_start(api, dataset, populated, who, code):
    assert start(api, dataset, who=who).status_code == code
    assert not SelectionRun.objects.exists()


@pytest.fixture
def run(api, dataset, populated):
    start(api, dataset)
    return SelectionRun.objects.get()


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_status_and_list(api, dataset, run, who):
    response = api(who).get(f"/api/runs/{run.pk}/")
    assert response.status_code == 200
    assert response.json() == run_json(run)
    listing = api(who).get(f"/api/datasets/{dataset.pk}/runs/").json()
    assert listing == {"next": None, "previous": None, "results": [run_json(run)]}


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_see_runs(api, dataset, run, who, code):
    assert api(who).get(f"/api/runs/{run.pk}/").status_code == code
    assert api(who).get(f"/api/runs/{run.pk}/result/").status_code == code
    assert api(who).get(f"/api/datasets/{dataset.pk}/runs/").status_code == code


def test_result_before_the_run_finished_is_409(api, run):
    response = api("bob").get(f"/api/runs/{run.pk}/result/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Run {run.pk} is queued, not succeeded: poll /api/runs/{run.pk}/ until its "
        "status is succeeded."
    }


def test_result_lists_picks_in_order_with_file_names_and_gains(api, run):
    selection_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded"
    response = api("bob").get(f"/api/runs/{run.pk}/result/")
    assert response.status_code == 200
    body = response.json()
    names = dict(run.dataset.samples.values_list("pk", "file_name"))
    rows = {row["sample_id"]: row["terms"] for row in run.explanation["picks"]}
    assert body == {
        "run": run.pk,
        "status": "succeeded",
        "result_tag": run.result_tag_id,
        "result_tag_name": "picked",
        "stopped_by": run.stopped_by,
        "message": run.message,
        "labels": run.explanation["labels"],
        "picks": [
            {"rank": rank, "sample_id": pk, "file_name": names[pk], "terms": rows[pk]}
            for rank, pk in enumerate(run.pick_order)
        ],
    }
    assert len(body["picks"]) == 5
    tag = Tag.objects.get(name="picked")
    assert sorted(tag.memberships.values_list("sample_id", flat=True)) == sorted(run.pick_order)


def test_team_member_cancels_a_queued_run(api, run):
    response = api("bob").post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 200
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert response.json() == run_json(run)


def test_cancelling_a_finished_run_is_400(api, run):
    api("bob").post(f"/api/runs/{run.pk}/cancel/")
    response = api("bob").post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Run {run.pk} has already finished (cancelled); there is nothing to cancel.",
        "path": "run",
    }


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_cancel(api, run, who, code):
    assert api(who).post(f"/api/runs/{run.pk}/cancel/").status_code == code
    run.refresh_from_db()
    assert run.status == "queued"


def test_rerun_starts_a_new_run_with_the_same_config(api, run):
    api("bob").post(f"/api/runs/{run.pk}/cancel/")
    response = api("alice").post(f"/api/runs/{run.pk}/rerun/", {"result_tag_name": "again"})
    assert response.status_code == 201
    new = SelectionRun.objects.exclude(pk=run.pk).get()
    assert (new.config, new.result_tag_name, new.options["rerun_of"]) == (CONFIG, "again", run.pk)
    assert response.json() == run_json(new)


def test_rerun_of_an_unfinished_run_is_400(api, run):
    response = api("alice").post(f"/api/runs/{run.pk}/rerun/", {})
    assert response.status_code == 400
    assert "still queued" in response.json()["detail"]
    assert SelectionRun.objects.count() == 1
