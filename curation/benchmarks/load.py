"""Load benchmark: many concurrent page loads against a LIVE server, counting database sessions.

Starts ``manage.py serve --no-worker`` on a free port of 127.0.0.1 with this process's
environment (or uses ``--url``, which must point at 127.0.0.1 or localhost), logs in as a
throwaway user, and fires a bounded number of requests (500 at concurrency 50; 100 at 10 with
``--quick``) at the sample browser of a small dataset (``bench-load``, created once). While it
runs, a separate connection samples ``pg_stat_activity`` for the database every 50 ms. Reports
errors, p50/p99 latency and the peak number of server connections against the configured pool
maximum. PostgreSQL only (SQLite has no connections to count).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import psycopg
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection

from curation.models import Dataset, Sample

DATASET = "bench-load"
USERNAME = "bench-load"
REQUEST_TIMEOUT_S = 30.0
RUN_DEADLINE_S = 300.0
START_TIMEOUT_S = 60.0
# Client sessions on the database, other than the sampler's own (autovacuum has a datname too).
COUNT_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_local(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in {"127.0.0.1", "localhost"}:
        raise CommandError(f"--url {url!r}: the load benchmark only targets http://127.0.0.1.")
    return url.rstrip("/")


def _fixture() -> tuple[Dataset, str]:
    """The benchmark user (a fresh random password each run) and its small dataset."""
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    password = secrets.token_urlsafe(16)
    user.set_password(password)
    user.save()
    dataset, created = Dataset.objects.get_or_create(
        name=DATASET, defaults={"owner": user, "description": "load benchmark"}
    )
    if created or not Sample.objects.filter(dataset=dataset).exists():
        Sample.objects.bulk_create(
            Sample(
                dataset=dataset,
                file_name=f"img_{i:04d}.jpg",
                width=640,
                height=480,
                metadata={"speed": i % 90, "weather": ["sunny", "rain"][i % 2]},
            )
            for i in range(200)
        )
    return dataset, password


def _start_server(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    manage = Path(settings.BASE_DIR) / "manage.py"
    cmd = [sys.executable, str(manage), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        [*cmd, "--no-worker"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def _wait_ready(base: str, server: subprocess.Popen[bytes] | None, log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-5:]
            raise CommandError(
                f"The server exited with status {server.returncode} on start:\n" + "\n".join(tail)
            )
        try:
            requests.get(f"{base}/accounts/login/", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise CommandError(f"The server at {base} did not answer within {START_TIMEOUT_S:.0f} s.")


def _login(base: str, password: str) -> dict[str, str]:
    """Sign in through the login form, as a browser does; the session cookie is shared."""
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=REQUEST_TIMEOUT_S)
    token = session.cookies.get("csrftoken", "")
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": USERNAME, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=REQUEST_TIMEOUT_S,
        allow_redirects=False,
    )
    if response.status_code != 302 or "sessionid" not in session.cookies:
        raise CommandError(f"Logging in as {USERNAME} failed (HTTP {response.status_code}).")
    return {cookie.name: cookie.value or "" for cookie in session.cookies}


class _Sampler(threading.Thread):
    """Samples the database's server connections (other than its own) until stopped."""

    def __init__(self) -> None:
        super().__init__(name="pg-sampler", daemon=True)
        db = settings.DATABASES["default"]
        self.dbname = db["NAME"]
        self.params = {
            "dbname": db["NAME"],
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
        }
        self.samples: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        params = {k: v for k, v in self.params.items() if v is not None}
        with psycopg.connect(**params, autocommit=True) as conn:
            while not self.stop_event.is_set():
                row = conn.execute(COUNT_SQL, [self.dbname]).fetchone()
                self.samples.append(int(row[0]) if row else 0)
                self.stop_event.wait(0.05)


def _pool_max() -> int | None:
    options = settings.DATABASES["default"].get("OPTIONS", {})
    pool = options.get("pool")
    if isinstance(pool, dict):
        return int(pool.get("max_size") or pool.get("min_size") or 0) or None
    return None


def _fire(base: str, url: str, cookies: dict[str, str], total: int, concurrency: int) -> Any:
    local = threading.local()
    deadline = time.monotonic() + RUN_DEADLINE_S

    def one(_: int) -> tuple[float, str]:
        if time.monotonic() > deadline:
            return 0.0, "deadline"
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.cookies.update(cookies)
        started = time.perf_counter()
        try:
            response = session.get(f"{base}{url}", timeout=REQUEST_TIMEOUT_S)
            outcome = "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        return (time.perf_counter() - started) * 1000, outcome

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, range(total)))


def run_load_benchmark(stdout: Any, quick: bool, url: str | None = None) -> None:
    if connection.vendor != "postgresql":
        stdout.write("load: skipped (SQLite). Run with DATABASE_URL=postgres://….\n")
        return
    total, concurrency = (100, 10) if quick else (500, 50)
    dataset, password = _fixture()
    connection.close()  # this process's own sessions are not counted below
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()  # type: ignore[attr-defined]
    server = None
    base = _check_local(url) if url else f"http://127.0.0.1:{_free_port()}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    if url is None:
        server = _start_server(int(base.rsplit(":", 1)[1]), log)
    sampler = _Sampler()
    try:
        _wait_ready(base, server, log)
        cookies = _login(base, password)
        idle_before = _count_once(sampler)
        sampler.start()
        started = time.perf_counter()
        results = _fire(base, f"/datasets/{dataset.pk}/", cookies, total, concurrency)
        elapsed = time.perf_counter() - started
        time.sleep(0.3)
        sampler.stop_event.set()
        sampler.join(timeout=5)
        idle_after = _count_once(sampler)
    finally:
        sampler.stop_event.set()
        if server is not None:
            _stop_server(server)
        log.close()
    _report(stdout, results, elapsed, sampler.samples, (idle_before, idle_after), concurrency)


def _count_once(sampler: _Sampler) -> int:
    params = {k: v for k, v in sampler.params.items() if v is not None}
    with psycopg.connect(**params, autocommit=True) as conn:
        row = conn.execute(COUNT_SQL, [sampler.dbname]).fetchone()
    return int(row[0]) if row else 0


def _report(
    stdout: Any,
    results: list[tuple[float, str]],
    elapsed: float,
    samples: list[int],
    idle: tuple[int, int],
    concurrency: int,
) -> None:
    times = sorted(ms for ms, outcome in results if outcome == "ok")
    errors: dict[str, int] = {}
    for _, outcome in results:
        if outcome != "ok":
            errors[outcome] = errors.get(outcome, 0) + 1
    p50 = statistics.median(times) if times else float("nan")
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else float("nan")
    peak = max(samples, default=0)
    pool_max = _pool_max()
    stdout.write(
        f"{len(results)} requests at concurrency {concurrency} in {elapsed:.1f} s "
        f"({len(results) / elapsed:.0f} req/s)\n"
    )
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none"
    stdout.write(f"errors: {sum(errors.values())} ({detail})\n")
    stdout.write(f"latency of successful requests: p50 {p50:.0f} ms, p99 {p99:.0f} ms\n")
    age = settings.DATABASES["default"].get("CONN_MAX_AGE", 0)
    limit = f"pool max_size {pool_max} per process" if pool_max else f"no pool, CONN_MAX_AGE={age}"
    stdout.write(
        f"database connections: peak {peak} during the run ({len(samples)} samples), "
        f"{idle[0]} before, {idle[1]} after; {limit}\n"
    )
    ok = not errors and (pool_max is None or peak <= pool_max)
    verdict = "ok" if ok else "FAILED (errors, or more connections than the pool)"
    stdout.write(f"load: {verdict}\n")
