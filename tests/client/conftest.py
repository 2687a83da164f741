"""A real Curation server for the client tests: ``manage.py serve`` in a subprocess.

The session fixture ``live`` migrates a fresh database (a temporary SQLite file, or a throwaway
PostgreSQL database when ``DATABASE_URL`` is set, with ``REDIS_URL`` passed on), creates alice
(owner), bob (her team), charlie (no access) and admin (staff, like the admin ``make run``
creates) with API tokens and an import root for the team, then starts ``manage.py serve`` on a
free port with its in-process worker. The tests talk to it only through ``curation.client`` —
exactly what a notebook does — so they never share the test process's database. The server is
stopped (by its pid) at the end.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import curation.client as cur
from tests.support.client import LiveServer

ROOT = Path(__file__).resolve().parents[2]

SETUP_SCRIPT = """
import json
from django.contrib.auth.models import Group, User
from curation.models import ImportRoot
from curation.tokens.services import api_token_create
team = Group.objects.create(name="vision-team")
keys = {}
for name in ("alice", "bob", "charlie", "admin"):
    user = User.objects.create_user(name, password=name + "-password", is_staff=name == "admin")
    if name in ("alice", "bob"):
        user.groups.add(team)
    keys[name] = api_token_create(user=user, name="client tests")[1]
ImportRoot.objects.create(path=IMPORT_ROOT, name="shared", group=team)
print("KEYS=" + json.dumps(keys))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_database(url: str) -> tuple[str, str]:
    """A fresh database next to the one ``url`` names: (its url, its name)."""
    import psycopg

    parts = urlsplit(url)
    name = f"client_live_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _drop_postgres(url: str, name: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var = tmp_path_factory.mktemp("live-var")
    import_root = tmp_path_factory.mktemp("import-root")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="curation.settings",
        CURATION_VAR_DIR=str(var),
        SECRET_KEY="client-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        CURATION_INPROCESS_WORKER="1",
        CURATION_API_THROTTLE="100000/min",
        CURATION_WORKER_HEARTBEAT_SECONDS="2",
    )
    pg: tuple[str, str] | None = None
    if os.environ.get("DATABASE_URL"):
        pg = _postgres_database(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = pg[0]
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    script = SETUP_SCRIPT.replace("IMPORT_ROOT", repr(str(import_root)))
    out = subprocess.run(
        [*manage, "shell", "-c", script],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    tokens = json.loads(next(line for line in out.splitlines() if line.startswith("KEYS="))[5:])
    port = _free_port()
    log = open(var / "serve.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [*manage, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "manage.py serve did not start: " + (var / "serve.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield LiveServer(url=url, tokens=tokens, import_root=import_root, embedded=pg is None)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if pg is not None:
            _drop_postgres(os.environ["DATABASE_URL"], pg[1])


@pytest.fixture
def alice(live: LiveServer) -> cur.Connection:
    """The default connection, as alice (the tests' dataset owner)."""
    return live.connect("alice")


_COUNTER = iter(range(1_000_000))


@pytest.fixture
def unique() -> str:
    """A dataset / tag name no other test uses (the server lives for the whole session)."""
    return f"t{os.getpid()}-{next(_COUNTER)}"
