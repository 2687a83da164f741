"""Redis blinks, no run is lost: a private redis-server is stopped during a run, before a run,
and during a websocket handshake, then restarted. The database row stays the truth."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from curation.models import SelectionRun
from curation.realtime import run_events
from curation.realtime.run_events import push_health, run_progress_push
from curation.runs import execute as runs_service
from curation.runs.services import selection_run_start, selection_runs_recover
from tests.support.selection import diversity, engine_picks, populate, tag_ids
from tests.support.workers import run_worker_batch

pytestmark = pytest.mark.django_db(transaction=True)
Status = SelectionRun.Status


@pytest.fixture(autouse=True)
def _fresh_push_health():
    push_health.reset()
    push_health.last_logged = -1e9
    yield
    push_health.reset()


def test_a_run_carries_on_when_redis_stops_midway(dataset, alice, redis_layer, monkeypatch, caplog):
    populate(dataset, n=300, dim=16)
    config = diversity(120)
    run = selection_run_start(dataset=dataset, config=config, result_tag_name="picked", user=alice)
    outcomes: list[bool] = []
    real_send = run_events.group_send_best_effort

    def send_then_stop_redis(group, message):
        delivered = real_send(group, message)
        outcomes.append(delivered)
        if len(outcomes) == 2:
            redis_layer.stop()  # Redis dies after the run has started and pushed twice
        return delivered

    monkeypatch.setattr(run_events, "group_send_best_effort", send_then_stop_redis)
    monkeypatch.setattr(runs_service, "PROGRESS_WRITE_SECONDS", 0.0)  # a push for every pick
    caplog.set_level(logging.WARNING, logger="curation.realtime.run_events")

    run_worker_batch()

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.error == ""
    assert run.pick_order == engine_picks(dataset, config)
    assert tag_ids(dataset, "picked") == set(run.pick_order)
    assert run.selected_count == 120 and run.picks_done == 120
    assert outcomes[:2] == [True, True] and outcomes[2] is False
    failures = [r for r in caplog.records if "Progress push failed" in r.getMessage()]
    assert len(failures) == 1  # logged once, not once per pick


def test_a_run_started_while_redis_is_down_succeeds_and_is_not_marked_dead(
    dataset, alice, redis_layer, settings
):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 1
    populate(dataset, n=80)
    config = diversity(12)
    redis_layer.stop()
    run = selection_run_start(dataset=dataset, config=config, result_tag_name="picked", user=alice)

    run_worker_batch()

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.pick_order == engine_picks(dataset, config)
    assert selection_runs_recover() == []
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.error == ""


def _communicator(application, run_id: int, cookie: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        f"/ws/runs/{run_id}/",
        headers=[
            (b"cookie", cookie.encode()),
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
        ],
    )


async def test_handshakes_are_refused_while_redis_is_down_and_pushes_resume_after(
    request, client, dataset, redis_layer
):
    from curation.asgi import application

    alice = await sync_to_async(request.getfixturevalue)("alice")
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    run = await sync_to_async(SelectionRun.objects.create)(
        dataset=dataset, config={}, result_tag_name="picked", requested_n=10
    )

    await sync_to_async(redis_layer.stop)()
    refused = _communicator(application, run.pk, cookie)
    connected, _ = await refused.connect()
    assert not connected  # a clean refusal, not an exception (a 500 under daphne)
    await refused.disconnect()

    def advance(done: int) -> None:
        run.status = Status.RUNNING
        run.picks_done = done
        run.progress = done / 10
        run.save()
        run_progress_push(run)  # fails quietly while Redis is down

    await sync_to_async(advance)(3)

    await sync_to_async(redis_layer.start)()
    await sync_to_async(push_health.reset)()
    communicator = _communicator(application, run.pk, cookie)
    try:
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_from(timeout=5)
        assert "3 of 10 picks" in first and "Running" in first  # the state in the database
        await sync_to_async(advance)(7)
        update = await communicator.receive_from(timeout=5)
        assert "7 of 10 picks" in update
    finally:
        await communicator.disconnect()


async def test_an_open_socket_is_closed_for_reconnection_when_redis_goes_away(
    request, client, dataset, redis_layer
):
    from curation.asgi import application

    alice = await sync_to_async(request.getfixturevalue)("alice")
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    run = await sync_to_async(SelectionRun.objects.create)(
        dataset=dataset, config={}, result_tag_name="picked", requested_n=10
    )
    communicator = _communicator(application, run.pk, cookie)
    try:
        connected, _ = await communicator.connect()
        assert connected
        assert "0 of 10 picks" in await communicator.receive_from(timeout=5)
        await sync_to_async(redis_layer.stop)()
        closed = await communicator.receive_output(timeout=10)
        # 1011: htmx's ws extension reconnects (with a growing delay) and gets the DB state.
        assert closed == {"type": "websocket.close", "code": 1011}
    finally:
        await communicator.disconnect()
