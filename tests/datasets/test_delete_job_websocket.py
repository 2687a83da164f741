"""The delete job's progress websocket: alice and bob (her team) watch it from Queued to
Succeeded; charlie is refused.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from curation.datasets.delete import dataset_delete_start
from curation.jobs.services import job_execute
from curation.routing import websocket_urlpatterns


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("who", "allowed"), [("alice", True), ("bob", True), ("charlie", False)])
async def test_the_delete_job_websocket(request, dataset, who, allowed):
    alice = await sync_to_async(request.getfixturevalue)("alice")
    job = await sync_to_async(dataset_delete_start)(dataset=dataset, user=alice)
    user = await sync_to_async(request.getfixturevalue)(who)
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
    communicator.scope["user"] = user
    try:
        connected, _ = await communicator.connect()
        assert connected is allowed
        if allowed:
            first = await communicator.receive_from()
            assert 'id="job-progress"' in first and "Queued" in first
            await sync_to_async(job_execute)(job_id=job.pk)
            texts = []
            while "Succeeded" not in (texts[-1] if texts else ""):
                texts.append(await communicator.receive_from(timeout=5))
            assert "Deleted dataset &#x27;cats&#x27;: 0 samples" in texts[-1]
    finally:
        await communicator.disconnect()
