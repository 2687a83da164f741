"""Cancel, dead-worker recovery, re-run, the result-tag race, masks and pre-selection."""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from curation.filters import SampleFilter
from curation.models import SelectionRun, Tag
from curation.runs import execute as runs_service
from curation.runs.services import (
    DEAD_WORKER_MESSAGE,
    SelectionRunError,
    selection_run_cancel,
    selection_run_execute,
    selection_run_rerun,
    selection_run_start,
    selection_runs_recover,
)
from curation.selection import SelectionCancelled
from tests.support.selection import (
    diversity,
    engine_picks,
    populate,
    tag_ids,
    tag_named,
)
from tests.support.workers import run_db_worker

Status = SelectionRun.Status


def _queued(dataset, user, tag="picked", n=5, **kwargs):
    """A recorded, queued run whose task is not executed (on-commit callbacks don't run in a
    test transaction)."""
    return selection_run_start(
        dataset=dataset, config=diversity(n), result_tag_name=tag, user=user, **kwargs
    )


# ----------------------------------------------------------------------------- cancel


def test_cancelling_a_queued_run_is_immediate(dataset, alice, bob):
    populate(dataset, n=20)
    run = _queued(dataset, alice)
    selection_run_cancel(run=run, user=bob)
    assert run.status == Status.CANCELLED and run.finished_at is not None
    assert "Cancelled by bob before it started" in run.message
    assert selection_run_execute(run_id=run.pk) is None  # the task finds nothing to do
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert not Tag.objects.filter(dataset=dataset).exists()


def test_cancelling_a_running_run_stops_the_engine_and_writes_no_tag(
    dataset, alice, bob, monkeypatch
):
    populate(dataset, n=4000, dim=32)
    monkeypatch.setattr(runs_service, "CANCEL_POLL_SECONDS", 0.0)
    outcome = []
    real_select = runs_service.select

    def watched_select(*args, **kwargs):
        try:
            return real_select(*args, **kwargs)
        except SelectionCancelled:
            outcome.append("engine stopped")
            raise

    monkeypatch.setattr(runs_service, "select", watched_select)

    def cancel_once_running(run):
        if run.status == Status.RUNNING and not run.cancel_requested:
            # Another user's request, through the database like the cancel button's.
            other = SelectionRun.objects.get(pk=run.pk)
            selection_run_cancel(run=other, user=bob)
            run.cancel_requested = True

    run = selection_run_start(
        dataset=dataset,
        config=diversity(3500),
        result_tag_name="picked",
        user=alice,
        execute="inline",
        progress=cancel_once_running,
    )
    assert run.status == Status.CANCELLED
    assert outcome == ["engine stopped"]
    assert run.message.startswith("Cancelled after") and "no tag was written" in run.message
    assert not Tag.objects.filter(dataset=dataset).exists()
    assert run.pick_order == [] and run.result_tag is None


def test_a_cancel_that_arrives_after_the_engine_finished_still_wins(dataset, alice, monkeypatch):
    populate(dataset, n=20)
    real_write = runs_service._write_result

    def cancel_then_write(run, *args):
        SelectionRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        real_write(run, *args)

    monkeypatch.setattr(runs_service, "_write_result", cancel_then_write)
    run = selection_run_start(
        dataset=dataset, config=diversity(5), result_tag_name="p", user=alice, execute="inline"
    )
    assert run.status == Status.CANCELLED
    assert not Tag.objects.filter(dataset=dataset).exists()


def test_a_finished_run_cannot_be_cancelled(dataset, alice):
    populate(dataset, n=20)
    run = selection_run_start(
        dataset=dataset, config=diversity(3), result_tag_name="p", user=alice, execute="inline"
    )
    with pytest.raises(SelectionRunError, match=r"already finished \(succeeded\)"):
        selection_run_cancel(run=run, user=alice)
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED


# ----------------------------------------------------------------------------- recovery


def _running_since(run, seconds_ago):
    then = timezone.now() - timedelta(seconds=seconds_ago)
    SelectionRun.objects.filter(pk=run.pk).update(
        status=Status.RUNNING, started_at=then, heartbeat_at=then
    )


def test_a_run_whose_worker_died_is_failed_then_rerun(dataset, alice, bob, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    populate(dataset, n=30)
    dead = _queued(dataset, alice, tag="dead")
    alive = _queued(dataset, alice, tag="alive")
    _running_since(dead, 91)
    _running_since(alive, 60)  # within 3 heartbeats: still alive

    assert selection_runs_recover() == [dead.pk]

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == Status.FAILED and dead.error == DEAD_WORKER_MESSAGE
    assert alive.status == Status.RUNNING
    assert not Tag.objects.filter(dataset=dataset).exists()

    again = selection_run_rerun(run=dead, user=bob, execute="inline")
    assert again.pk != dead.pk and again.status == Status.SUCCEEDED
    assert again.result_tag_name == "dead" and again.created_by == bob
    assert again.config == dead.config and again.options["rerun_of"] == dead.pk
    assert tag_ids(dataset, "dead") == set(again.pick_order) and len(again.pick_order) == 5


def test_a_worker_declared_dead_that_comes_back_writes_nothing(dataset, alice, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    populate(dataset, n=30)

    def declared_dead(run):
        stale = timezone.now() - timedelta(seconds=200)
        SelectionRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
        selection_runs_recover()

    run = selection_run_start(
        dataset=dataset,
        config=diversity(5),
        result_tag_name="p",
        user=alice,
        execute="inline",
        progress=declared_dead,
    )
    assert run.status == Status.FAILED and run.error == DEAD_WORKER_MESSAGE
    assert not Tag.objects.filter(dataset=dataset).exists()


def test_a_run_that_never_reached_the_queue_is_failed(dataset, alice, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    populate(dataset, n=10)
    run = _queued(dataset, alice)
    SelectionRun.objects.filter(pk=run.pk).update(created=timezone.now() - timedelta(seconds=120))
    assert selection_runs_recover() == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.FAILED and "never reached the task queue" in run.error


def test_rerun_refuses_an_active_run_and_a_taken_name(dataset, alice):
    populate(dataset, n=10)
    queued = _queued(dataset, alice, tag="q")
    with pytest.raises(SelectionRunError, match="is still queued"):
        selection_run_rerun(run=queued, user=alice)
    done = selection_run_start(
        dataset=dataset, config=diversity(2), result_tag_name="d", user=alice, execute="inline"
    )
    with pytest.raises(SelectionRunError, match="'d' already exists"):
        selection_run_rerun(run=done, user=alice)
    again = selection_run_rerun(run=done, user=alice, result_tag_name="d2", execute="inline")
    assert again.status == Status.SUCCEEDED and again.pick_order == done.pick_order


# ----------------------------------------------------------------------------- the tag race


@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_for_one_tag_name_exactly_one_succeeds(dataset, alice, bob):
    populate(dataset, n=40)
    first = _queued(dataset, alice, tag="shared")
    second = _queued(dataset, bob, tag="shared", n=7)  # both pass the start check

    run_db_worker()

    first.refresh_from_db()
    second.refresh_from_db()
    assert sorted([first.status, second.status]) == [Status.FAILED, Status.SUCCEEDED]
    loser = first if first.status == Status.FAILED else second
    winner = second if loser is first else first
    assert loser.error == (
        "A tag named 'shared' was created while this selection ran; re-run it with another name."
    )
    assert loser.pick_order == [] and loser.result_tag is None
    assert Tag.objects.filter(dataset=dataset, name="shared").count() == 1
    assert tag_ids(dataset, "shared") == set(winner.pick_order)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two concurrent writers need a server database (SQLite's test database is shared "
    "in-memory and refuses concurrent writers outright)",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_finishing_at_the_same_time_leave_exactly_one_tag(dataset, alice, bob):
    populate(dataset, n=40)
    runs = [_queued(dataset, alice, tag="shared"), _queued(dataset, bob, tag="shared", n=7)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(run_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            selection_run_execute(run_id=run_id)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(run.pk,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for run in runs:
        run.refresh_from_db()
    assert sorted(run.status for run in runs) == [Status.FAILED, Status.SUCCEEDED]
    winner = next(run for run in runs if run.status == Status.SUCCEEDED)
    assert Tag.objects.filter(dataset=dataset, name="shared").count() == 1
    assert tag_ids(dataset, "shared") == set(winner.pick_order)


# ----------------------------------------------------------------------------- options


def test_masked_samples_are_never_selected(dataset, alice):
    ids = populate(dataset, n=40)
    tag_named(dataset, "blurry", ids[:10])
    run = selection_run_start(
        dataset=dataset,
        config=diversity(12),
        result_tag_name="p",
        user=alice,
        mask_tag="blurry",
        execute="inline",
    )
    assert run.status == Status.SUCCEEDED
    assert run.options["mask_tag"] == "blurry"
    assert not set(run.pick_order) & set(ids[:10])
    masked = np.isin(np.asarray(ids), ids[:10])
    assert run.pick_order == engine_picks(dataset, diversity(12), masked=masked)


def test_preselected_samples_come_first_even_outside_the_filter(dataset, alice):
    ids = populate(dataset, n=40)
    tag_named(dataset, "train", ids[10:])
    tag_named(dataset, "labelled", ids[:3])  # outside the filter: added to the candidates
    run = selection_run_start(
        dataset=dataset,
        config=diversity(8),
        result_tag_name="p",
        user=alice,
        candidate_filter=SampleFilter.parse("tag=train"),
        preselected_tag="labelled",
        execute="inline",
    )
    assert run.status == Status.SUCCEEDED, run.error
    assert run.pick_order[:3] == ids[:3] and len(run.pick_order) == 8
    assert set(run.pick_order[3:]) <= set(ids[10:])
    assert run.candidate_count == 33
    assert all(term is None for term in run.explanation["picks"][0]["terms"].values())
    # The engine on the same candidates (train + labelled) with the same pre-selection:
    candidates = np.asarray(ids[:3] + ids[10:])
    everything = engine_candidates(dataset, candidates, diversity(8), ids[:3])
    assert run.pick_order == everything


def engine_candidates(dataset, candidates, config, preselected_ids):
    from curation.selection import ArrayData, select
    from curation.storage.embeddings import embedding_space_load

    loaded = embedding_space_load(dataset.embedding_spaces.get())
    rows = [int(np.flatnonzero(loaded.sample_ids == c)[0]) for c in candidates]
    data = ArrayData(
        embeddings={"default": np.asarray(loaded.matrix)[rows]},
        preselected=np.isin(candidates, preselected_ids),
    )
    return [int(candidates[i]) for i in select(config, data).indices]


def test_preselection_reaching_n_adds_nothing_and_masks_win(dataset, alice):
    ids = populate(dataset, n=20)
    tag_named(dataset, "labelled", ids[:5])
    tag_named(dataset, "bad", ids[:1])
    run = selection_run_start(
        dataset=dataset,
        config=diversity(3),
        result_tag_name="p",
        user=alice,
        preselected_tag="labelled",
        mask_tag="bad",
        execute="inline",
    )
    assert run.status == Status.SUCCEEDED
    assert run.pick_order == ids[1:5]
    assert "1 preselected sample(s) are masked and were ignored" in run.message
    assert "nothing new was added" in run.message


@pytest.mark.django_db(transaction=True)
def test_a_starting_db_worker_fails_dead_runs_then_runs_the_queue(dataset, alice, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    populate(dataset, n=30)
    dead = _queued(dataset, alice, tag="dead")
    DBTaskResult.objects.all().delete()  # its worker had claimed it and died
    _running_since(dead, 500)
    waiting = _queued(dataset, alice, tag="waiting")

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    dead.refresh_from_db()
    waiting.refresh_from_db()
    assert dead.status == Status.FAILED and dead.error == DEAD_WORKER_MESSAGE
    assert waiting.status == Status.SUCCEEDED
    assert set(Tag.objects.filter(dataset=dataset).values_list("name", flat=True)) == {"waiting"}
