"""Pushing a run's progress to every watching browser, after the transaction commits.

Pushes are best effort: the database row is the truth, and a browser that (re)connects is sent
the row's current state. A push that fails (Redis down or slow) is logged, at most once a
minute, and never raises into the run; after a failure further pushes are skipped for
``PUSH_PAUSE_SECONDS`` so a run does not wait on a dead channel layer at every progress tick.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

from curation.models import SelectionRun

logger = logging.getLogger(__name__)

PUSH_TIMEOUT_SECONDS = 2.0
PUSH_PAUSE_SECONDS = 2.0
LOG_EVERY_SECONDS = 60.0


class _PushHealth:
    """Failure bookkeeping shared by every thread of the process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paused_until = 0.0
        self.last_logged = -1e9
        self.failed_since_log = 0

    def paused(self) -> bool:
        return time.monotonic() < self.paused_until

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            now = time.monotonic()
            self.paused_until = now + PUSH_PAUSE_SECONDS
            self.failed_since_log += 1
            if now - self.last_logged < LOG_EVERY_SECONDS:
                return
            count, self.failed_since_log, self.last_logged = self.failed_since_log, 0, now
        logger.warning(
            "Progress push failed (%s: %s); %d failure(s) since the last report. Runs carry "
            "on; browsers see the state stored in the database when they reconnect.",
            type(exc).__name__,
            exc,
            count,
        )

    def reset(self) -> None:
        with self.lock:
            self.paused_until = 0.0


push_health = _PushHealth()


def group_send_best_effort(group: str, message: dict[str, Any]) -> bool:
    """Send ``message`` to a channel-layer group; False (logged, rate-limited) if it failed.

    Never raises: callers are runs and jobs whose state lives in the database.
    """
    if push_health.paused():
        return False
    try:
        layer = get_channel_layer()
        if layer is None:
            return False

        async def send() -> None:
            await asyncio.wait_for(layer.group_send(group, message), PUSH_TIMEOUT_SECONDS)

        async_to_sync(send)()
    except Exception as exc:
        push_health.failed(exc)
        return False
    return True


def run_group_name(run_id: int) -> str:
    return f"run-{run_id}"


def render_run_progress(run: SelectionRun) -> str:
    """The ``#run-progress`` fragment; htmx's ws extension swaps it in place (out of band)."""
    return render_to_string("curation/run_detail.html#progress", {"run": run, "oob": True})


def run_progress_push(run: SelectionRun) -> None:
    """Send the run's progress fragment to its group once the current transaction commits
    (best effort: never raises)."""

    def send() -> None:
        if push_health.paused():
            return
        try:
            html = render_run_progress(run)
        except Exception:
            logger.exception("Rendering the progress of run %s failed", run.pk)
            return
        group_send_best_effort(run_group_name(run.pk), {"type": "run.progress", "html": html})

    transaction.on_commit(send)
