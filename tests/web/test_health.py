import pytest
from django.urls import reverse

from curation.jobs.workers import worker_heartbeat_beat


def test_healthz_reports_every_part_to_staff(client, staff):
    worker_heartbeat_beat(worker_id="w1")
    client.force_login(staff)
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["channel_layer"]["ok"] is True
    assert body["worker"] == {"ok": True, "mode": "db_worker", "live": 1}


def test_healthz_is_unhealthy_without_a_live_worker(client, staff):
    client.force_login(staff)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["worker"]["ok"] is False
    assert response.json()["database"]["ok"] is True


@pytest.mark.parametrize("who", ["anonymous", "alice", "charlie"])
def test_healthz_tells_everyone_else_only_ok(client, db, request, who):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    worker_heartbeat_beat(worker_id="w1")
    response = client.get(reverse("healthz"))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("who", ["anonymous", "bob"])
def test_healthz_tells_everyone_else_only_not_ok(client, db, request, who):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("healthz"))  # no live worker
    assert (response.status_code, response.json()) == (503, {"status": "not ok"})
