"""The ``knn`` run option (typicality's k-NN mode) through the API and the CLI: validated with
an error naming it, kept in the run's options (and by a re-run), the approximate search's recall
in the run's notes; owner (alice) / team member (bob) / outsider (charlie)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from curation.models import SelectionRun
from curation.runs.services import selection_run_execute, selection_run_rerun

TYPICALITY = {
    "n_samples": 5,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "TYPICALITY"}}],
}


def start(api, dataset, who="bob", **body):
    body = {"config": TYPICALITY, "result_tag_name": "typical", **body}
    return api(who).post(f"/api/datasets/{dataset.pk}/runs/", body, format="json")


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_an_approximate_run_reports_its_recall_in_the_notes(api, dataset, populated, who):
    response = start(api, dataset, who=who, knn={"mode": "approximate"})
    assert response.status_code == 201, response.json()
    run = SelectionRun.objects.get()
    assert run.options["knn"] == {"mode": "approximate", "approximate_above": 200_000}
    selection_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert "Typicality used approximate nearest neighbours (knn mode approximate" in run.message
    assert "recall@20" in run.message
    # a re-run keeps the option
    again = selection_run_rerun(run=run, user=run.created_by, result_tag_name="again")
    assert again.options["knn"] == run.options["knn"]


def test_without_the_option_nothing_changes(api, dataset, populated):
    assert start(api, dataset).status_code == 201
    run = SelectionRun.objects.get()
    assert "knn" not in run.options
    selection_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded" and "approximate" not in run.message


@pytest.mark.parametrize(
    "knn,path",
    [
        ({"approximate_above": -5}, "knn.approximate_above"),
        ({"approximate_above": "lots"}, "knn.approximate_above"),
        ({"mode": "fast"}, "knn.mode"),
        ({"probe": 2}, "knn.probe"),
    ],
)
def test_a_bad_knn_option_is_400_naming_it(api, dataset, populated, knn, path):
    response = start(api, dataset, knn=knn)
    assert response.status_code == 400, response.json()
    assert response.json()["path"] == path
    assert response.json()["detail"].startswith(path)
    assert not SelectionRun.objects.exists()


def test_an_outsider_cannot_start_with_the_option(api, dataset, populated):
    assert start(api, dataset, who="charlie", knn={"mode": "exact"}).status_code == 404
    assert not SelectionRun.objects.exists()


def test_cli_knn_flags(dataset, populated, tmp_path):
    path = tmp_path / "typ.json"
    path.write_text(json.dumps(TYPICALITY))
    out = StringIO()
    call_command(
        "select", "cats", "--config", str(path), "--tag", "t",
        "--knn", "auto", "--approximate-above", "10", stdout=out,
    )  # fmt: skip
    run = SelectionRun.objects.get()
    assert run.options["knn"] == {"mode": "auto", "approximate_above": 10}
    assert "more than approximate_above=10 candidates" in run.message
    with pytest.raises(CommandError, match=r"knn\.approximate_above"):
        call_command(
            "select", "cats", "--config", str(path), "--tag", "t2",
            "--approximate-above", "-1",
        )  # fmt: skip
    assert SelectionRun.objects.count() == 1
