"""Daphne itself: a body over the limit is answered 413 before it is read (a real server in a
subprocess), and request bodies wait on disk, not in the application's queue."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curation.web.daphne_patches import _SpoolingQueue

BASE_DIR = Path(__file__).resolve().parents[2]
MESSAGE = (
    b"The upload is larger than this server accepts (1 MB): split it into smaller uploads, or "
    b"import the files from a server folder."
)


def test_the_spooling_queue_hands_bodies_over_in_order(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10

    async def scenario():
        queue = _SpoolingQueue()
        chunks = [b"a" * 8, b"b" * 8, b"c" * 3]
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            queue.put_nowait({"type": "http.request", "body": chunk, "more_body": more})
        assert all(item["body"] == b"" for item in queue._queue)  # nothing queued in memory
        got = [await queue.get() for _ in chunks]
        assert [item["body"] for item in got] == chunks
        assert [item["more_body"] for item in got] == [True, True, False]
        queue.put_nowait({"type": "http.disconnect"})
        assert await queue.get() == {"type": "http.disconnect"}

    asyncio.run(scenario())


@pytest.fixture
def server(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CURATION_VAR_DIR": str(tmp_path / "var"),
        "CURATION_MAX_UPLOAD_MB": "1",
    }
    args = [sys.executable, "-m", "daphne", "-p", str(port), "curation.asgi:application"]
    try:
        process = subprocess.Popen(
            args, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except OSError as exc:
        pytest.skip(f"cannot start a subprocess here ({exc})")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.skip("the daphne server did not start")
    yield port
    process.terminate()
    process.wait(10)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    sock.settimeout(10)
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server):
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(
            b"POST /api/datasets/1/metadata/ HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 5000000\r\n\r\n"
        )  # and not one byte of the body
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert answer.endswith(MESSAGE)


def test_a_chunked_body_is_cut_off_at_the_limit(server):
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(
            b"POST /datasets/new/ HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"z" * 65536
        try:
            for _ in range(40):  # 2.5 MB
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server closed the connection: expected once over the limit
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ") and answer.endswith(MESSAGE)
