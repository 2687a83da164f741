"""``/ws/jobs/<id>/``: owner and team member get the state then updates; an outsider, an
anonymous user and a stranger to a job whose dataset is gone are refused at the handshake."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from curation.models import Job
from curation.realtime.job_events import job_progress_push
from curation.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def _communicator(user, job_id) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job_id}/")
    communicator.scope["user"] = user
    return communicator


@pytest.fixture
def job(dataset, alice):
    return Job.objects.create(dataset=dataset, dataset_name=dataset.name, created_by=alice)


@pytest.mark.parametrize("who", ["alice", "bob"])
async def test_members_receive_the_state_then_updates(request, job, who):
    user = await sync_to_async(request.getfixturevalue)(who)
    communicator = _communicator(user, job.pk)
    try:
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_from()
        assert 'id="job-progress"' in first and "Queued" in first

        def advance():
            job.status = Job.Status.RUNNING
            job.stage, job.done, job.total, job.progress = "images", 64, 200, 0.3
            job.save()
            job_progress_push(job)

        await sync_to_async(advance)()
        update = await communicator.receive_from(timeout=5)
        assert "Running" in update and "images (64 of 200)" in update and "30%" in update
        assert 'hx-swap-oob="true"' in update
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("who", ["charlie", "anonymous"])
async def test_others_are_refused(request, job, who):
    user = (
        AnonymousUser() if who == "anonymous" else await sync_to_async(request.getfixturevalue)(who)
    )
    communicator = _communicator(user, job.pk)
    try:
        connected, _ = await communicator.connect()
        assert not connected
    finally:
        await communicator.disconnect()


async def test_when_the_dataset_is_gone_only_the_creator_may_watch(request, job, dataset):
    await sync_to_async(dataset.delete)()
    for who, allowed in (("alice", True), ("bob", False)):
        user = await sync_to_async(request.getfixturevalue)(who)
        communicator = _communicator(user, job.pk)
        try:
            connected, _ = await communicator.connect()
            assert connected is allowed
        finally:
            await communicator.disconnect()
