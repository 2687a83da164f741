"""``manage.py select``: the headless selection, its summary, and its one-line errors."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import base as management_base
from django.core.management import call_command

from curation.management.commands.select import Command
from curation.models import Sample, SelectionRun, Tag
from tests.support.selection import (
    diversity,
    engine_picks,
    populate,
    runs_and_tags,
    tag_ids,
    tag_named,
)


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(diversity(5)))
    return path


@pytest.fixture
def ids(dataset):
    ids = populate(dataset, n=50)
    tag_named(dataset, "train", ids[:40])
    return ids


def test_it_selects_and_prints_a_summary(dataset, alice, ids, config_file):
    out, err = StringIO(), StringIO()
    call_command(
        "select",
        "cats",
        "--config",
        str(config_file),
        "--tag",
        "picked",
        "--where",
        "min:lightly.sharpness=20",
        "--from-tag",
        "train",
        stdout=out,
        stderr=err,
    )
    run = SelectionRun.objects.get()
    candidates = [
        s.pk
        for s in Sample.objects.filter(pk__in=ids[:40]).order_by("pk")
        if s.metadata["lightly.sharpness"] >= 20
    ]
    assert run.status == "succeeded" and run.created_by == alice
    assert run.candidate_filter == {"tag": ["train"], "min:lightly.sharpness": ["20"]}
    assert tag_ids(dataset, "picked") == set(run.pick_order) and len(run.pick_order) == 5
    assert set(run.pick_order) <= set(candidates)
    summary = out.getvalue()
    assert (
        f"Selected 5 of {len(candidates)} candidates (0 masked, 0 pre-selected) into tag "
        "'picked' of cats"
    ) in summary
    assert "Stopped: n reached." in summary and "Time: load" in summary
    progress = err.getvalue()
    assert "\r[" in progress and "100.0%" in progress and "5/5 picks" in progress


def test_it_reports_when_n_exceeds_the_candidates(dataset, ids, tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(diversity(500)))
    out = StringIO()
    call_command(
        "select", "cats", "--config", str(path), "--tag", "all", stdout=out, stderr=StringIO()
    )
    assert "Note: N=500 is larger than the 50 candidates: selected all 50." in out.getvalue()
    assert "Stopped: candidates exhausted." in out.getvalue()


@pytest.fixture
def _keep_connections(monkeypatch):
    """``run_from_argv`` closes every connection when it ends, which would break the test
    transaction; the test database stays as it is."""
    monkeypatch.setattr(management_base.connections, "close_all", lambda: None)


def _exit(argv, capsys):
    """Run the command as ``manage.py`` would: returns (exit code, stderr)."""
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "select", *argv])
    return exited.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "content", "expected"),
    [
        (
            ["cats", "--tag", "picked"],
            '{"n_samples": 5,\n "strategies": [}',
            "is not valid JSON: unexpected '}' at line 2, column 17.",
        ),
        (
            ["cats", "--tag", "picked"],
            json.dumps(
                {
                    "n_samples": 5,
                    "strategies": [
                        {"input": {"type": "PIXELS"}, "strategy": {"type": "DIVERSITY"}}
                    ],
                }
            ),
            "strategies[0].input.type: must be one of EMBEDDINGS",
        ),
        (["dogs", "--tag", "picked"], None, "No dataset named 'dogs'."),
        (["cats", "--tag", "train"], None, "a tag named 'train' already exists"),
        (
            ["cats", "--tag", "picked", "--where", "colour=red"],
            None,
            "Unknown filter parameter 'colour'",
        ),
        (["cats", "--tag", "picked", "--from-tag", "ghost"], None, "No tag named 'ghost'"),
        (
            ["cats", "--tag", "picked", "--owner", "charlie"],
            None,
            "No dataset named 'cats' visible",
        ),
        (["cats", "--tag", "picked", "--mask-tag", "ghost"], None, "mask_tag: no tag named"),
    ],
    ids=[
        "bad-json",
        "config-path",
        "dataset",
        "taken-tag",
        "filter",
        "from-tag",
        "outsider",
        "mask",
    ],
)
@pytest.mark.usefixtures("_keep_connections")
def test_errors_exit_non_zero_with_one_line_and_write_nothing(
    dataset, ids, charlie, tmp_path, capsys, argv, content, expected
):
    path = tmp_path / "config.json"
    path.write_text(content if content is not None else json.dumps(diversity(5)))
    before = runs_and_tags(dataset)
    tags_before = Tag.objects.count()

    code, err = _exit([*argv, "--config", str(path)], capsys)

    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: "), err
    assert expected in lines[0]
    assert runs_and_tags(dataset) == before and Tag.objects.count() == tags_before


@pytest.mark.usefixtures("_keep_connections")
def test_a_missing_config_file(dataset, ids, capsys):
    code, err = _exit(["cats", "--tag", "t", "--config", "/nonexistent/c.json"], capsys)
    assert code == 1 and "Cannot read the config /nonexistent/c.json" in err
    assert runs_and_tags(dataset) == (0, 0)


@pytest.mark.usefixtures("_keep_connections")
def test_a_failure_while_running_exits_non_zero_without_a_tag(dataset, ids, tmp_path, capsys):
    Sample.objects.filter(pk=ids[3]).update(metadata={"lightly.sharpness": -1.0})
    path = tmp_path / "weights.json"
    path.write_text(
        json.dumps(
            {
                "n_samples": 5,
                "strategies": [
                    {
                        "input": {"type": "METADATA", "key": "lightly.sharpness"},
                        "strategy": {"type": "WEIGHTS"},
                    }
                ],
            }
        )
    )
    code, err = _exit(["cats", "--tag", "w", "--config", str(path)], capsys)
    run = SelectionRun.objects.get()
    assert code == 1
    assert f"Selection run {run.pk} failed: strategies[0].input: weights must be >= 0" in err
    assert run.status == "failed" and not Tag.objects.filter(dataset=dataset, name="w").exists()


def test_rerun_runs_a_failed_run_again(dataset, ids, config_file):
    call_command("select", "cats", "--config", str(config_file), "--tag", "a", stderr=StringIO())
    first = SelectionRun.objects.get()
    SelectionRun.objects.filter(pk=first.pk).update(status="failed")
    Tag.objects.filter(name="a").delete()
    out = StringIO()
    call_command("select", "--rerun", str(first.pk), stdout=out, stderr=StringIO())
    again = SelectionRun.objects.exclude(pk=first.pk).get()
    assert again.options["rerun_of"] == first.pk and again.status == "succeeded"
    assert again.pick_order == first.pick_order == engine_picks(dataset, diversity(5))
    assert "into tag 'a'" in out.getvalue()
