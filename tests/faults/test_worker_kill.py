"""kill -9 of a ``manage.py db_worker`` during a run: recovery fails the run with a sentence,
no result tag exists, the dead worker drops out of /healthz, and a re-run succeeds.

PostgreSQL only: the worker is a separate process and must see the test database, which on
SQLite lives in this process's memory (CI runs this on PostgreSQL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from curation.jobs.workers import live_workers
from curation.models import SelectionRun, Tag, TagSample
from curation.runs.services import (
    DEAD_WORKER_MESSAGE,
    selection_run_rerun,
    selection_run_start,
    selection_runs_recover,
)
from tests.support.selection import diversity, engine_picks, populate, tag_ids
from tests.support.workers import run_worker_batch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
Status = SelectionRun.Status
ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_kill_9_of_a_worker_mid_run_fails_the_run_and_a_rerun_succeeds(
    dataset, alice, settings, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the SQLite test database is in memory (runs in CI)")
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 1  # dead after 3 s without a beat
    populate(dataset, n=6000, dim=32)
    config = diversity(4000)
    run = selection_run_start(dataset=dataset, config=config, result_tag_name="picked", user=alice)
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}},
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "curation.settings",
        "CURATION_WORKER_HEARTBEAT_SECONDS": "1",
        "CURATION_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CURATION_EMBEDDINGS_ROOT": str(settings.CURATION_EMBEDDINGS_ROOT),
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.1",
            "--worker-id",
            "kill-test",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def picking_or_final() -> bool:
            status, done = SelectionRun.objects.values_list("status", "picks_done").get(pk=run.pk)
            return (status == Status.RUNNING and done > 0) or status not in (
                Status.QUEUED,
                Status.RUNNING,
            )

        _wait_for(picking_or_final, timeout=120)
        state = SelectionRun.objects.values("status", "error").get(pk=run.pk)
        assert state["status"] == Status.RUNNING, (state, log.read_text()[-3000:])
        assert any(w.worker_id == "kill-test" for w in live_workers())
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    run.refresh_from_db()
    if run.status != Status.RUNNING:
        pytest.fail(f"the run was {run.status} when the worker was killed; make it longer")

    assert _wait_for(lambda: selection_runs_recover() == [run.pk], timeout=30)
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error == DEAD_WORKER_MESSAGE
    assert run.result_tag is None
    assert not Tag.objects.filter(dataset=dataset, name="picked").exists()
    assert not TagSample.objects.filter(tag__dataset=dataset).exists()
    assert not any(w.worker_id == "kill-test" for w in live_workers())

    rerun = selection_run_rerun(run=run, user=alice)
    run_worker_batch()
    rerun.refresh_from_db()
    assert rerun.status == Status.SUCCEEDED, rerun.error
    assert rerun.pick_order == engine_picks(dataset, config)
    assert tag_ids(dataset, "picked") == set(rerun.pick_order)
