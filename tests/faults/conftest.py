"""Fault-test fixtures: a private redis-server on a port of its own (never the shared one) and
the app's channel layer pointed at it. The synchronous worker loop the fault tests run is
``tests.support.workers.run_worker_batch``."""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server this test starts, stops and restarts (no persistence, loopback only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers_ping(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("the private redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _answers_ping(port: int) -> bool:
    """One RESP PING over a plain socket (no Redis client needed: tests use no driver directly)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_channels_redis() -> None:
    """Redis tests need the `team` extra. Without it they skip on a dev machine (SQLite, no
    REDIS_URL); under CI=true or with REDIS_URL set its absence fails them instead."""
    try:
        importlib.import_module("channels_redis.core")
    except ImportError:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"} or os.environ.get("REDIS_URL"):
            pytest.fail("channels-redis is not installed: pip install -e '.[dev,team]'")
        pytest.skip("channels-redis is not installed (the `team` extra: pip install -e '.[team]')")


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    require_channels_redis()
    if not Path(REDIS_SERVER).exists():
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_layer(settings, private_redis) -> PrivateRedis:
    """The app's channel layer pointed at the private redis-server."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [private_redis.url], "prefix": "faults"},
        }
    }
    return private_redis
