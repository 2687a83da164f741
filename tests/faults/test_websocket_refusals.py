"""Websocket handshakes that cannot be served are refused cleanly through the whole ASGI stack
(origin check, session auth, routing), never answered with a 500."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


def _communicator(path: str, cookie: str = "") -> WebsocketCommunicator:
    from curation.asgi import application

    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.parametrize(
    "path",
    [
        "/ws/nope/",
        "/",
        "/ws/runs/abc/",
        "/ws/runs/1/extra/",
        "/ws/runs/99999999999999999999999999/",
        "/ws/jobs/x/",
    ],
)
@pytest.mark.parametrize("signed_in", [True, False])
async def test_unknown_or_malformed_paths_are_refused(request, client, path, signed_in):
    cookie = ""
    if signed_in:
        alice = await sync_to_async(request.getfixturevalue)("alice")
        await sync_to_async(client.force_login)(alice)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
    communicator = _communicator(path, cookie)
    try:
        connected, _ = await communicator.connect(timeout=5)
        assert connected is False  # refused; an error in the app would raise here instead
    finally:
        await communicator.disconnect()


async def test_a_missing_run_is_refused(request, client):
    alice = await sync_to_async(request.getfixturevalue)("alice")
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    communicator = _communicator("/ws/runs/424242/", cookie)
    try:
        connected, _ = await communicator.connect(timeout=5)
        assert connected is False
    finally:
        await communicator.disconnect()
