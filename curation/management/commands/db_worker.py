"""``manage.py db_worker``: django-tasks-db's worker plus a heartbeat row for /healthz."""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from curation.services.selection import selection_runs_recover
from curation.services.workers import HeartbeatThread, worker_heartbeat_stop


class Command(DbWorkerCommand):
    help = "Run a background worker for selection runs and imports (any number, any machine)."

    def handle(self, *args: Any, **options: Any) -> None:
        selection_runs_recover()  # runs left "running" by a worker that died are failed
        heartbeat = HeartbeatThread(options["worker_id"])
        heartbeat.start()
        try:
            super().handle(*args, **options)
        finally:
            heartbeat.stop()
            worker_heartbeat_stop(worker_id=options["worker_id"])
