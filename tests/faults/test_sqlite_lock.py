"""SQLite lock contention in the embedded mode: a long write transaction held while a run is
queued does not kill the in-process worker, and the run still finishes once the write ends.

Runs ``sqlite_lock_script.py`` in a subprocess on a real SQLite file in a folder of its own
(the test database is in memory, where WAL and file locks do not apply).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_script(tmp_path: Path, *args: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CI", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "CURATION_VAR_DIR": str(tmp_path / "var"),
            "SECRET_KEY": "fault-test-secret-key-0123456789-0123456789-0123456789",
            "CURATION_INPROCESS_WORKER": "1",
        }
    )
    completed = subprocess.run(
        [sys.executable, "-m", "tests.faults.sqlite_lock_script", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_long_write_does_not_kill_the_worker_and_the_queued_run_finishes(tmp_path):
    result = _run_script(tmp_path)
    assert result["journal_mode"] == "wal"
    assert result["alive_while_locked"] is True
    assert result["alive_after"] is True
    assert result["status"] == "succeeded", result["error"]
    assert result["selected"] == 20 and result["tag"] == "picked"
    # The lock made polls fail; the first failure was reported (then at most once a minute).
    assert len(result["poll_failure_reports"]) == 1
    assert "the database was locked" in result["poll_failure_reports"][0]
    assert result["heartbeat_age_s"] is not None and result["heartbeat_age_s"] < 3
