from django.urls import reverse

from curation.services.workers import worker_heartbeat_beat


def test_healthz_reports_every_part(client, db):
    worker_heartbeat_beat(worker_id="w1")
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["channel_layer"]["ok"] is True
    assert body["worker"] == {"ok": True, "mode": "db_worker", "live": 1}


def test_healthz_is_unhealthy_without_a_live_worker(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["worker"]["ok"] is False
    assert response.json()["database"]["ok"] is True
