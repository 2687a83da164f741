import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from curation.models import SelectionRun
from curation.routing import websocket_urlpatterns
from curation.services.run_events import run_progress_push

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
