"""Recovering selection runs whose worker died, and reading that a worker went silent.

:func:`selection_runs_recover` fails runs that stopped beating for three
``CURATION_WORKER_HEARTBEAT_SECONDS`` and queued runs that never reached the task queue. It is a
worker's job: the worker loop runs it (``jobs.workers.worker_recover``: at its first iteration,
then once per heartbeat interval), and so does a delete job waiting for a dataset's runs. Pages,
API reads and websocket connects never write: they show a silent worker
(``SelectionRun.worker_silent``, read from the run's heartbeat) until a worker's recovery fails
the run.
"""

from __future__ import annotations

import logging

from django.db.models import Q

from curation.jobs.heartbeat import heartbeat_horizon
from curation.models import SelectionRun
from curation.runs.execute import finish

logger = logging.getLogger(__name__)

Status = SelectionRun.Status

DEAD_WORKER_MESSAGE = "The worker running this selection stopped responding; re-run it."
NEVER_QUEUED_MESSAGE = "This selection never reached the task queue; re-run it."


def selection_runs_recover() -> list[int]:
    """Fail runs whose worker died (no heartbeat for 3 intervals) and queued runs that never
    reached the queue. Cheap; run by the worker loop. Returns the ids it failed."""
    horizon = heartbeat_horizon()
    stale = Q(status=Status.RUNNING) & (
        Q(heartbeat_at__lt=horizon) | Q(heartbeat_at__isnull=True, started_at__lt=horizon)
    )
    lost = Q(status=Status.QUEUED, task_id="", created__lt=horizon)
    recovered = []
    for pk, status in SelectionRun.objects.filter(stale | lost).values_list("pk", "status"):
        error = DEAD_WORKER_MESSAGE if status == Status.RUNNING else NEVER_QUEUED_MESSAGE
        if finish(pk, Status.FAILED, error=error, expect=status):
            recovered.append(pk)
    if recovered:
        logger.warning("Marked selection runs %s as failed (worker gone)", recovered)
    return recovered
