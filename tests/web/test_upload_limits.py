"""A body over CURATION_MAX_UPLOAD_MB is answered 413 with one sentence, through the real ASGI
application: at once when Content-Length says so, while streaming otherwise; nothing written."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import ApplicationCommunicator, HttpCommunicator
from django.db import connection

from curation.asgi import application
from curation.models import Job
from tests.support.uploads import media_files

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE = (
    "The upload is larger than this server accepts (1 MB): split it into smaller uploads, or "
    "import the files from a server folder."
)


@sync_to_async
def _job_count() -> int:
    try:
        return Job.objects.count()
    finally:
        connection.close()  # this executor thread's connection, or the test database stays busy


@pytest.fixture(autouse=True)
def one_megabyte(settings):
    settings.CURATION_MAX_UPLOAD_MB = 1


def _scope(path, headers):
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }


async def test_a_declared_length_over_the_limit_is_refused_before_reading(dataset):
    body = b"x" * (1024 * 1024 + 1)
    communicator = HttpCommunicator(
        application,
        "POST",
        f"/api/datasets/{dataset.pk}/metadata/",
        body=body,
        headers=[(b"host", b"localhost"), (b"content-type", b"multipart/form-data; boundary=x")],
    )
    communicator.scope["headers"].append((b"content-length", str(len(body)).encode()))
    response = await communicator.get_response(timeout=20)
    assert response["status"] == 413
    assert json.loads(response["body"]) == {"detail": MESSAGE}
    assert await _job_count() == 0 and media_files() == []


async def test_a_streamed_body_is_cut_off_at_the_limit():
    communicator = ApplicationCommunicator(application, _scope("/datasets/new/", []))
    chunk = b"y" * (256 * 1024)
    for _ in range(4):
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": True})
    await communicator.send_input({"type": "http.request", "body": chunk, "more_body": False})
    start = await communicator.receive_output(timeout=10)
    body = await communicator.receive_output(timeout=10)
    assert start["status"] == 413
    assert body["body"].decode() == MESSAGE
    assert media_files() == []


async def test_a_body_under_the_limit_reaches_django():
    communicator = HttpCommunicator(
        application,
        "POST",
        "/accounts/login/",
        body=b"username=a&password=b",
        headers=[
            (b"host", b"localhost"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"21"),
        ],
    )
    response = await communicator.get_response(timeout=20)
    assert response["status"] == 403  # Django read it: the CSRF check answered


async def test_zero_turns_the_limit_off(settings):
    settings.CURATION_MAX_UPLOAD_MB = 0
    body = b"username=a&password=b" + b"&x=" + b"z" * (1024 * 1024)
    communicator = HttpCommunicator(
        application,
        "POST",
        "/accounts/login/",
        body=body,
        headers=[
            (b"host", b"localhost"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ],
    )
    response = await communicator.get_response(timeout=20)
    assert response["status"] != 413
