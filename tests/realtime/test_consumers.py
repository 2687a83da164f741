import os
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from curation.env import channel_layers_config
from curation.models import SelectionRun
from curation.realtime.run_events import run_progress_push
from curation.routing import websocket_urlpatterns
from curation.runs.services import selection_run_cancel, selection_run_start
from tests.support.selection import diversity, populate
from tests.support.workers import run_db_worker

pytestmark = pytest.mark.django_db(transaction=True)


def _communicator(user, run_id) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/runs/{run_id}/")
    communicator.scope["user"] = user
    return communicator


@pytest.fixture
def run(dataset):
    return SelectionRun.objects.create(
        dataset=dataset, config={}, result_tag_name="picked", requested_n=10
    )


@pytest.mark.parametrize("who", ["alice", "bob"])
async def test_members_receive_the_current_state_then_updates(request, run, who):
    user = await sync_to_async(request.getfixturevalue)(who)
    communicator = _communicator(user, run.pk)
    try:
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_from()
        assert 'id="run-progress"' in first and "0 of 10 picks" in first

        def advance():
            run.status = SelectionRun.Status.RUNNING
            run.picks_done = 4
            run.progress = 0.4
            run.save()
            run_progress_push(run)  # outside a transaction: sent at once

        await sync_to_async(advance)()
        update = await communicator.receive_from(timeout=5)
        assert "4 of 10 picks" in update and "Running" in update
        assert 'hx-swap-oob="true"' in update
    finally:
        await communicator.disconnect()


async def test_outsider_is_refused(request, run):
    charlie = await sync_to_async(request.getfixturevalue)("charlie")
    communicator = _communicator(charlie, run.pk)
    try:
        connected, _ = await communicator.connect()
        assert not connected
    finally:
        await communicator.disconnect()


async def test_anonymous_is_refused(run):
    communicator = _communicator(AnonymousUser(), run.pk)
    try:
        connected, _ = await communicator.connect()
        assert not connected
    finally:
        await communicator.disconnect()


async def test_the_full_asgi_stack_authenticates_with_the_session_cookie(client, alice, run):
    from curation.asgi import application

    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    communicator = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[
            (b"cookie", cookie.encode()),
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
        ],
    )
    try:
        connected, _ = await communicator.connect()
        assert connected
        assert "picked" in await communicator.receive_from()
    finally:
        await communicator.disconnect()


# --------------------------------------------------------------------- a real selection run


def _layers():
    layers = ["memory"]
    if os.environ.get("REDIS_URL"):
        layers.append("redis")
    return layers


@pytest.fixture(params=_layers())
def channel_layer(request, settings):
    """The in-memory layer always; channels-redis too when REDIS_URL is set (CI), under a
    prefix of its own so parallel test sessions on the same Redis never cross."""
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        config = channel_layers_config(os.environ["REDIS_URL"])
        config["default"].setdefault("CONFIG", {})["prefix"] = f"test-{uuid.uuid4().hex[:8]}"
        settings.CHANNEL_LAYERS = config
    return request.param


async def _receive_until(communicator, marker, timeout=10.0):
    messages = []
    while not messages or marker not in messages[-1]:
        messages.append(await communicator.receive_from(timeout=timeout))
    return messages


async def test_a_selection_streams_progress_then_its_result(request, dataset, channel_layer):
    alice = await sync_to_async(request.getfixturevalue)("alice")
    await sync_to_async(populate)(dataset, n=300, dim=16)
    run = await sync_to_async(selection_run_start)(
        dataset=dataset, config=diversity(50), result_tag_name="picked", user=alice
    )
    communicator = _communicator(alice, run.pk)
    try:
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_from()
        assert "Queued" in first and "0 of 50 picks" in first

        await sync_to_async(run_db_worker)()

        messages = await _receive_until(communicator, "Succeeded")
        running = [m for m in messages if "Running" in m]
        assert running and "from 300 candidates" in running[-1]
        assert any("50 of 50 picks" in m and "100%" in m for m in running)
        final = messages[-1]
        assert 'hx-swap-oob="true"' in final
        assert "Selected <strong>50</strong> of 300 candidates" in final
        assert "<code>picked</code>" in final and "(50 samples)" in final
        assert f'href="/runs/{run.pk}/"' in final
    finally:
        await communicator.disconnect()


async def test_a_cancelled_run_pushes_its_final_state(request, dataset, channel_layer):
    alice = await sync_to_async(request.getfixturevalue)("alice")
    await sync_to_async(populate)(dataset, n=20)
    run = await sync_to_async(selection_run_start)(
        dataset=dataset, config=diversity(5), result_tag_name="picked", user=alice
    )
    communicator = _communicator(alice, run.pk)
    try:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.receive_from()
        await sync_to_async(selection_run_cancel)(run=run, user=alice)
        final = await communicator.receive_from(timeout=5)
        assert "Cancelled" in final and "Cancelled by alice before it started" in final
        assert f"/runs/{run.pk}/rerun/" in final
    finally:
        await communicator.disconnect()
