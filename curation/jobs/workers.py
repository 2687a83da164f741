"""Task workers: the worker loop, its heartbeat (for /healthz and dead-run detection), the
recovery of what dead workers left running, and the in-process worker of the embedded mode.

Invariants:

- A worker's heartbeat row is written by its loop and by nothing else: between tasks every
  ``CURATION_WORKER_HEARTBEAT_SECONDS``, and during a task by the task's own progress calls
  (``heartbeat.worker_task_beat``). No side thread beats, so a loop that died or hangs stops
  beating and is seen: ``/healthz`` reports no live worker, and the runs it held are failed by
  recovery, both once the row is older than 3 intervals (90 s with the default 30 s).
- Recovery (:func:`worker_recover`: dead selection runs and jobs are failed with a sentence,
  their files settled) is the worker's job: its loop runs it at its first iteration and then
  once per heartbeat interval, between tasks. Pages, API reads and websocket connects only read
  (they show a silent worker from the row's heartbeat: ``worker_silent`` of a run or job).
- One failed iteration of the loop (SQLite "database is locked", a dropped PostgreSQL
  connection, ...) never ends the loop: it is logged (at most once a minute after the first),
  the thread's connections are closed, and the loop retries after a backoff of 1 s doubling to
  30 s.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from django.conf import settings
from django.db import OperationalError, close_old_connections, connection, connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from curation.jobs.heartbeat import (
    live_workers,
    new_worker_id,
    worker_current_set,
    worker_heartbeat_beat,
    worker_heartbeat_stop,
    worker_task_beat,
)
from curation.jobs.recover import jobs_recover
from curation.runs.recover import selection_runs_recover

__all__ = [
    "CurationWorker",
    "inprocess_worker_start",
    "live_workers",
    "new_worker_id",
    "worker_heartbeat_beat",
    "worker_recover",
    "worker_task_beat",
]

logger = logging.getLogger(__name__)


BACKOFF_MAX_SECONDS = 30.0
LOG_EVERY_SECONDS = 60.0


def _close_thread_connections() -> None:
    """Drop this thread's database connections so the next query opens a fresh one."""
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except Exception:  # a broken connection may fail to close; it is discarded anyway
            conn.connection = None


class CurationWorker(Worker):
    """django-tasks-db's worker loop, made to survive failed polls and to beat from the loop."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started = timezone.now()
        self.beat_interval = float(settings.CURATION_WORKER_HEARTBEAT_SECONDS)
        self.last_beat = -1e18  # monotonic; beat on the first iteration
        self.last_recover = -1e18  # monotonic; recover on the first iteration
        self.failures = 0
        self._last_logged = -1e18
        self._unlogged = 0

    def beat(self, *, force: bool = False) -> None:
        """Write the heartbeat row if an interval has passed (or ``force``)."""
        now = time.monotonic()
        if not force and now - self.last_beat < self.beat_interval:
            return
        if connection.in_atomic_block:  # invisible until commit; the next call beats
            return
        worker_heartbeat_beat(worker_id=self.worker_id, started_at=self.started)
        self.last_beat = now

    def recover(self, *, force: bool = False) -> None:
        """Run :func:`worker_recover` if an interval has passed since the last (or ``force``)."""
        now = time.monotonic()
        if not force and now - self.last_recover < self.beat_interval:
            return
        worker_recover()
        self.last_recover = now

    def run(self) -> None:
        logger.info("Starting worker %s on queues %s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # spreads a fleet's first polls
        worker_current_set(self)
        try:
            while self.running:
                try:
                    finished = self.iteration()
                except Exception as exc:
                    self.failures += 1
                    self._log_failure(exc)
                    _close_thread_connections()
                    self.pause(self.backoff())
                    continue
                self.failures = 0
                if finished:
                    return
        finally:
            worker_current_set(None)
            try:
                worker_heartbeat_stop(worker_id=self.worker_id)
            except Exception:
                logger.warning("Could not remove the heartbeat of worker %s", self.worker_id)
            _close_thread_connections()

    def backoff(self) -> float:
        """Seconds to wait after ``self.failures`` failed iterations in a row: 1, 2, 4 ... 30."""
        return float(min(BACKOFF_MAX_SECONDS, 2 ** (self.failures - 1)))

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def iteration(self) -> bool:
        """Beat, claim and run at most one task; True when the loop should end (batch mode)."""
        close_old_connections()
        self.beat()
        self.recover()
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(self.worker_id)  # so no other worker runs it
        if task_result is not None:
            self.run_task(task_result)
        elif self.batch:
            return True
        if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
            return True
        close_old_connections()
        if self.running and task_result is None:
            time.sleep(self.interval)
        return False

    def _log_failure(self, exc: Exception) -> None:
        now = time.monotonic()
        self._unlogged += 1
        if now - self._last_logged < LOG_EVERY_SECONDS:
            return
        locked = isinstance(exc, OperationalError) and is_locked_database_exception(exc)
        what = "the database was locked" if locked else f"{type(exc).__name__}: {exc}"
        logger.warning(
            "Worker %s: a poll failed (%s); %d failure(s) since the last report. Retrying in "
            "%.0f s.",
            self.worker_id,
            what,
            self._unlogged,
            self.backoff(),
            exc_info=not locked,
        )
        self._last_logged, self._unlogged = now, 0


def worker_recover() -> list[int]:
    """The recovery step of every worker loop (at its first iteration, then once per heartbeat
    interval): fail the selection runs and jobs whose worker died, settle their files. Returns
    the ids recovered (runs first, then jobs)."""
    runs = selection_runs_recover()  # runs left "running" by a worker that died are failed
    jobs = jobs_recover()  # so are imports and deletions, and their staged files are removed
    return [*runs, *jobs]


def inprocess_worker_start() -> threading.Thread:
    """Start the task worker loop in a daemon thread of this process (embedded mode)."""
    worker_id = new_worker_id("inprocess")
    worker = CurationWorker(
        queue_names=["default"],
        interval=0.5,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    thread = threading.Thread(target=worker.run, name="inprocess-task-worker", daemon=True)
    thread.start()
    logger.info("In-process task worker %s started", worker_id)
    return thread
