"""Run by ``test_sqlite_lock.py`` in a subprocess with its own CURATION_VAR_DIR: embedded mode
on a real SQLite FILE (the test database is in memory). A selection run is queued, another
connection holds a long write transaction (like a 100k-row upload) while the in-process worker
starts polling, then commits. Prints one JSON line: what happened.

``--upstream`` uses django-tasks-db's plain worker loop instead (to show the old failure).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import threading
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "curation.settings"
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

LOCK_SECONDS = 6.0
# Fail fast: the write lock is held longer than this, so polls see "database is locked".
connections["default"].settings_dict["OPTIONS"]["timeout"] = 1
settings.CURATION_WORKER_HEARTBEAT_SECONDS = 1


class Reports(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    from curation.jobs.workers import inprocess_worker_start
    from curation.models import Dataset, SelectionRun, WorkerHeartbeat
    from curation.runs.services import selection_run_start
    from tests.support.selection import diversity, populate

    call_command("migrate", verbosity=0)
    alice = User.objects.create_user("alice")
    dataset = Dataset.objects.create(name="cats", owner=alice)
    populate(dataset, n=200, dim=8)
    run = selection_run_start(
        dataset=dataset, config=diversity(20), result_tag_name="picked", user=alice
    )
    reports = Reports()
    logging.getLogger("curation.jobs.workers").addHandler(reports)
    connections["default"].close()

    writer = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    writer.execute("PRAGMA busy_timeout = 5000")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE curation_dataset SET description = 'a long write'")
    if "--upstream" in sys.argv:
        from django_tasks_db.management.commands.db_worker import Worker

        worker = Worker(
            queue_names=["default"],
            interval=0.5,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="upstream",
            excluded_queue_names=[],
        )
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
    else:
        thread = inprocess_worker_start()
    time.sleep(LOCK_SECONDS)
    alive_while_locked = thread.is_alive()
    writer.execute("COMMIT")
    writer.close()

    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        status = SelectionRun.objects.values_list("status", flat=True).get(pk=run.pk)
        if status not in (SelectionRun.Status.QUEUED, SelectionRun.Status.RUNNING):
            break
        time.sleep(0.2)
    run.refresh_from_db()
    beat = WorkerHeartbeat.objects.order_by("-last_seen").first()
    print(
        json.dumps(
            {
                "alive_while_locked": alive_while_locked,
                "alive_after": thread.is_alive(),
                "status": status,
                "error": run.error,
                "selected": run.selected_count,
                "tag": run.result_tag.name if run.result_tag else None,
                "poll_failure_reports": [m for m in reports.messages if "a poll failed" in m],
                "heartbeat_age_s": (
                    (time.time() - beat.last_seen.timestamp()) if beat is not None else None
                ),
                "journal_mode": connections["default"]
                .cursor()
                .execute("PRAGMA journal_mode")
                .fetchone()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
