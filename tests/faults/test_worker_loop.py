"""The worker loop survives failed polls, beats its heartbeat itself (between tasks and from a
running task's progress), and a loop that stops beating turns /healthz unhealthy."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from curation.jobs import workers
from curation.jobs.workers import CurationWorker, live_workers
from curation.models import SelectionRun, WorkerHeartbeat
from curation.runs import execute as runs_service
from curation.runs.services import DEAD_WORKER_MESSAGE, selection_run_start
from tests.support.selection import diversity, engine_picks, populate, tag_ids

pytestmark = pytest.mark.django_db(transaction=True)
Status = SelectionRun.Status


class RecordingWorker(CurationWorker):
    """Records its backoff pauses instead of sleeping through them."""

    def __init__(self, **kwargs):
        defaults = {
            "queue_names": ["default"],
            "interval": 0,
            "batch": True,
            "backend_name": "default",
            "startup_delay": False,
            "max_tasks": None,
            "worker_id": "loop-test",
            "excluded_queue_names": [],
        }
        super().__init__(**{**defaults, **kwargs})
        self.pauses: list[float] = []

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


def test_failed_polls_are_retried_with_backoff_and_the_queued_run_still_runs(
    dataset, alice, monkeypatch, caplog
):
    populate(dataset, n=60)
    config = diversity(8)
    run = selection_run_start(dataset=dataset, config=config, result_tag_name="picked", user=alice)
    real = workers.exclusive_transaction
    errors = [
        OperationalError("database is locked"),
        OperationalError("server closed the connection unexpectedly"),
    ]

    @contextmanager
    def failing_twice(using=None):
        if errors:
            raise errors.pop(0)
        with real(using):
            yield

    monkeypatch.setattr(workers, "exclusive_transaction", failing_twice)
    caplog.set_level(logging.WARNING, logger="curation.jobs.workers")
    worker = RecordingWorker()

    worker.run()

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert tag_ids(dataset, "picked") == set(engine_picks(dataset, config))
    assert worker.pauses == [1.0, 2.0]
    assert worker.failures == 0
    reports = [r.getMessage() for r in caplog.records if "a poll failed" in r.getMessage()]
    assert len(reports) == 1  # rate-limited: the second failure within a minute is not logged
    assert "the database was locked" in reports[0]
    assert not WorkerHeartbeat.objects.filter(worker_id="loop-test").exists()  # removed at exit


def test_backoff_doubles_up_to_thirty_seconds():
    worker = RecordingWorker()
    delays = []
    for failures in range(1, 9):
        worker.failures = failures
        delays.append(worker.backoff())
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_heartbeats_come_from_the_loop_and_from_the_running_task(
    dataset, alice, settings, monkeypatch
):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 0  # beat whenever the loop or the task may
    monkeypatch.setattr(runs_service, "PROGRESS_WRITE_SECONDS", 0.0)
    populate(dataset, n=120, dim=8)
    run = selection_run_start(
        dataset=dataset, config=diversity(40), result_tag_name="picked", user=alice
    )
    beats: list[str] = []
    real_beat = workers.worker_heartbeat_beat

    def spy(**kwargs):
        real_beat(**kwargs)
        beats.append(SelectionRun.objects.values_list("status", flat=True).get(pk=run.pk))

    monkeypatch.setattr(workers, "worker_heartbeat_beat", spy)

    RecordingWorker().run()

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert beats[0] == Status.QUEUED  # the loop beat before it claimed the task
    assert beats.count(Status.RUNNING) >= 2  # the task's progress beat while it ran
    assert beats[-1] == Status.SUCCEEDED  # the loop beat again after the task


def test_a_beat_outside_a_worker_or_inside_a_transaction_writes_nothing(settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 0
    workers.worker_task_beat()  # no worker in this thread: a no-op
    assert not WorkerHeartbeat.objects.exists()
    from django.db import transaction

    worker = RecordingWorker()
    with transaction.atomic():
        worker.beat()
    assert not WorkerHeartbeat.objects.exists()
    worker.beat()
    assert WorkerHeartbeat.objects.filter(worker_id="loop-test").count() == 1


class StuckWorker(CurationWorker):
    """Its loop hangs inside a task until ``release`` is set (a task that never reports)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.release = threading.Event()
        self.stuck = threading.Event()

    def run_task(self, db_task_result):
        self.stuck.set()
        self.release.wait(30)
        super().run_task(db_task_result)


def _worker_health(admin_client) -> dict:
    return admin_client.get(reverse("healthz")).json()["worker"]


def _wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_healthz_turns_unhealthy_when_the_loop_stops_beating(
    dataset, alice, settings, admin_client
):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 1  # live = seen within 3 s
    populate(dataset, n=30)
    worker = StuckWorker(
        queue_names=["default"],
        interval=0.2,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="stuck-test",
        excluded_queue_names=[],
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert _wait_for(lambda: bool(live_workers()))
        assert _worker_health(admin_client)["ok"] is True

        run = selection_run_start(
            dataset=dataset, config=diversity(5), result_tag_name="picked", user=alice
        )
        assert worker.stuck.wait(15)
        # The thread is alive but its loop no longer beats: seen within 3 intervals.
        assert _wait_for(lambda: _worker_health(admin_client)["ok"] is False, timeout=10)
        assert thread.is_alive()
        assert admin_client.get(reverse("healthz")).status_code == 503

        worker.release.set()
        assert _wait_for(lambda: _worker_health(admin_client)["ok"] is True)
        assert _wait_for(
            lambda: SelectionRun.objects.get(pk=run.pk).status == Status.SUCCEEDED, timeout=30
        )
    finally:
        worker.release.set()
        worker.running = False
        thread.join(timeout=30)
        connection.close()
    assert not thread.is_alive()


def test_the_loop_recovers_dead_runs_and_jobs_at_start_and_once_per_heartbeat(
    dataset, alice, settings, monkeypatch
):
    """Recovery is the worker's job (pages only read): the loop's first iteration fails a run
    whose worker died; later iterations recover again only once a heartbeat interval passed."""
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    populate(dataset, n=20)
    dead = selection_run_start(
        dataset=dataset, config=diversity(3), result_tag_name="d", user=alice
    )
    old = timezone.now() - timedelta(seconds=200)
    SelectionRun.objects.filter(pk=dead.pk).update(
        status=Status.RUNNING, started_at=old, heartbeat_at=old
    )
    recovered: list[list[int]] = []
    real = workers.worker_recover

    def spy():
        recovered.append(real())
        return recovered[-1]

    monkeypatch.setattr(workers, "worker_recover", spy)
    worker = RecordingWorker()
    worker.run()

    dead.refresh_from_db()
    assert dead.status == Status.FAILED and dead.error == DEAD_WORKER_MESSAGE
    assert recovered == [[dead.pk]]  # once: the batch ended within one heartbeat interval
    worker.recover()  # within the interval: not due
    assert len(recovered) == 1
    worker.recover(force=True)
    assert recovered[-1] == []
