"""Task workers: heartbeats (for /healthz and dead-run detection) and the in-process worker."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from curation.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def new_worker_id(prefix: str = "worker") -> str:
    """Unique across machines and at most 64 characters (django-tasks-db's limit)."""
    return f"{prefix}-{socket.gethostname()[:30]}-{os.getpid()}-{get_random_string(6)}"


def worker_heartbeat_beat(*, worker_id: str, started_at: datetime | None = None) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname()[:200], "pid": os.getpid(), "last_seen": now},
        create_defaults={
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "last_seen": now,
            "started_at": started_at or now,
        },
    )


def worker_heartbeat_stop(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def live_workers() -> list[WorkerHeartbeat]:
    """Workers seen within three heartbeat intervals."""
    horizon = timezone.now() - timedelta(seconds=3 * settings.CURATION_WORKER_HEARTBEAT_SECONDS)
    return list(WorkerHeartbeat.objects.filter(last_seen__gte=horizon))


class HeartbeatThread(threading.Thread):
    """Beats every ``CURATION_WORKER_HEARTBEAT_SECONDS`` until stopped."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.started = timezone.now()
        self._stop_event = threading.Event()

    def run(self) -> None:
        interval = settings.CURATION_WORKER_HEARTBEAT_SECONDS
        while not self._stop_event.is_set():
            try:
                close_old_connections()
                worker_heartbeat_beat(worker_id=self.worker_id, started_at=self.started)
            except Exception:  # the database may be briefly away; keep beating
                logger.exception("Worker heartbeat failed")
            self._stop_event.wait(interval)
        close_old_connections()

    def stop(self) -> None:
        self._stop_event.set()


def inprocess_worker_start() -> threading.Thread:
    """Start a django-tasks-db worker in a daemon thread of this process (embedded mode)."""
    from django_tasks_db.management.commands.db_worker import Worker

    from curation.services.selection import selection_runs_recover

    worker_id = new_worker_id("inprocess")
    selection_runs_recover()  # runs left "running" by a worker that died are failed
    HeartbeatThread(worker_id).start()
    worker = Worker(
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
