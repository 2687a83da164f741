"""Worker heartbeats: the ``WorkerHeartbeat`` rows, and the beat a running task gives its worker.

The bottom of the worker machinery: it imports only the models, so the code that runs inside a
task (``runs.execute``, ``jobs.execute``, ``datasets.delete``) can beat without importing the
worker loop (``jobs.workers``), which imports recovery and, through it, those executors.

Invariants:

- A heartbeat row is written by its worker's loop (``CurationWorker.beat``) and, during a task,
  by the task's progress calls through :func:`worker_task_beat`; nothing else writes it.
- A worker is alive while its row is younger than three ``CURATION_WORKER_HEARTBEAT_SECONDS``
  (:func:`live_workers`); a run's or job's own ``heartbeat_at`` ages the same way (its
  ``worker_silent``, which pages show; they never recover).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import get_random_string

from curation.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


class Beating(Protocol):
    def beat(self, *, force: bool = False) -> None: ...


_current = threading.local()  # the worker loop running in this thread, if any


def new_worker_id(prefix: str = "worker") -> str:
    """Unique across machines and at most 64 characters (django-tasks-db's limit)."""
    return f"{prefix}-{socket.gethostname()[:30]}-{os.getpid()}-{get_random_string(6)}"


def heartbeat_horizon() -> datetime:
    """Older than this, a heartbeat (a worker's or a run's / job's) is stale: its worker died."""
    return timezone.now() - timedelta(seconds=3 * settings.CURATION_WORKER_HEARTBEAT_SECONDS)


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
    return list(WorkerHeartbeat.objects.filter(last_seen__gte=heartbeat_horizon()))


def worker_current_set(worker: Beating | None) -> None:
    """Register (or, with None, clear) the worker loop running tasks in this thread."""
    _current.worker = worker


def worker_task_beat() -> None:
    """Beat the heartbeat of the worker running the current task, if due (cheap otherwise).

    Called by long tasks from their progress calls; a no-op outside a worker (CLI, tests).
    Never raises: the task's own database writes report a database that is away.
    """
    worker: Beating | None = getattr(_current, "worker", None)
    if worker is None:
        return
    try:
        worker.beat()
    except Exception as exc:
        logger.warning("Worker heartbeat from a task failed (%s)", type(exc).__name__)
