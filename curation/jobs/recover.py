"""Recovering jobs whose process died (``kill -9``, a lost machine): they are failed with a
sentence and everything they left is removed or, for a job that had already committed,
moved into place (``import_staging.staging_settle``: the rows decide). A dead delete job leaves
its dataset hidden, to be deleted again (``dataset_delete``). Each kind's sentence comes from
``jobs.finish.JOB_WORDS``.

A running job is dead when neither it (``heartbeat_at``) nor its process beat for three
``CURATION_WORKER_HEARTBEAT_SECONDS``: its worker's ``WorkerHeartbeat`` row is stale and, for
a process on this machine (a command-line import has no worker row), the process is gone.
Cheap; the worker loop runs it (``jobs.workers.worker_recover``: at its first iteration,
then once per heartbeat interval); pages only read.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from curation.jobs.finish import Status, job_finish, kind_message
from curation.models import Job, WorkerHeartbeat
from curation.storage.staging import STAGING, staging_sweep

logger = logging.getLogger(__name__)


def _worker_alive(worker_id: str, alive: set[tuple[str, int]]) -> bool:
    """Whether the job's process still runs: its worker beats, or (a command-line import, which
    has no worker row) it is a live process on this machine."""
    host, _, pid = worker_id.rpartition("-")
    if not pid.isdigit():
        return False
    if (host, int(pid)) in alive:
        return True
    if host != socket.gethostname()[:150]:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def jobs_recover() -> list[int]:
    """Fail running jobs whose worker is gone (neither the job nor its worker beat for three
    intervals) and queued jobs that never reached the queue; settle their files and orphaned
    staging folders. Cheap; run by the worker loop (``worker_recover``). Returns ids."""
    horizon = timezone.now() - timedelta(seconds=3 * settings.CURATION_WORKER_HEARTBEAT_SECONDS)
    alive = {
        (host[:150], pid)
        for host, pid in WorkerHeartbeat.objects.filter(last_seen__gte=horizon).values_list(
            "hostname", "pid"
        )
    }
    stale = Job.objects.filter(status=Status.RUNNING).filter(
        Q(heartbeat_at__lt=horizon) | Q(heartbeat_at__isnull=True, started_at__lt=horizon)
    )
    recovered = []
    for pk, worker_id in stale.values_list("pk", "worker_id"):
        if _worker_alive(worker_id, alive):
            continue
        error = kind_message(pk, "dead_worker")
        if job_finish(pk, Status.FAILED, error=error, settle=True):
            recovered.append(pk)
    lost = Job.objects.filter(status=Status.QUEUED, task_id="", created__lt=horizon)
    for pk in lost.values_list("pk", flat=True):
        error = kind_message(pk, "never_queued")
        if job_finish(pk, Status.FAILED, error=error, expect=Status.QUEUED):
            recovered.append(pk)
    if recovered:
        logger.warning("Marked jobs %s as failed (worker gone)", recovered)
    _sweep_staging()
    return recovered


def _sweep_staging() -> None:
    """Settle staging folders left by jobs that ended or died (and by dead CLI processes)."""
    root = Path(settings.MEDIA_ROOT) / STAGING
    if not root.is_dir():
        return
    folders = {
        int(entry.name[4:]): entry
        for entry in root.iterdir()
        if entry.name.startswith("job-") and entry.name[4:].isdigit()
    }
    known = dict(Job.objects.filter(pk__in=list(folders)).values_list("pk", "status"))
    active = {pk for pk, status in known.items() if status not in Job.FINAL_STATUSES}
    # A folder whose row is not visible yet (its job is being created) is left alone for a while.
    for pk, entry in folders.items():
        try:
            young = time.time() - entry.stat().st_mtime < 3600
        except OSError:  # removed meanwhile
            continue
        if pk not in known and young:
            active.add(pk)
    staging_sweep(active_job_ids=active)
