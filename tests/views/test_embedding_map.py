"""The embedding map page and its points endpoint."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from django.urls import reverse

from curation.models import EmbeddingSpace


def unpack(b64: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(base64.b64decode(b64), np.uint8), bitorder="little")[:n]


def test_page_has_the_canvas_and_the_filter(client, alice, dataset, space):
    client.force_login(alice)
    text = client.get(reverse("embedding-map", args=[dataset.pk]) + "?q=cat").content.decode()
    assert 'id="embedding-map"' in text and "embedding-map.js" in text
    assert "file name contains &#x27;cat&#x27;" in text
    assert 'data-filter-query="q=cat"' in text


def test_points_are_projected_once_and_highlight_filter_and_tag(
    client, alice, dataset, samples, space, train_tag
):
    client.force_login(alice)
    url = reverse("map-points", args=[dataset.pk])
    payload = client.get(url + "?space=default&q=dog&highlight=train").json()
    assert payload["ready"] and len(payload["ids"]) == 12
    assert all(0 <= v <= payload["scale"] for v in payload["x"] + payload["y"])
    by_id = {s.pk: s for s in samples}
    dogs = unpack(payload["filter_mask"], 12)
    assert [bool(m) for m in dogs] == [by_id[i].file_name.startswith("dog") for i in payload["ids"]]
    tagged = unpack(payload["tag_mask"], 12)
    assert sorted(np.asarray(payload["ids"])[tagged.astype(bool)]) == sorted(
        s.pk for s in samples[:4]
    )
    assert EmbeddingSpace.objects.get(pk=space.pk).projection["ids"] == payload["ids"]


def test_large_spaces_are_queued_not_computed_in_the_request(
    client, alice, dataset, space, monkeypatch
):
    monkeypatch.setattr("curation.services.projections.INLINE_LIMIT", 5)
    from django_tasks_db.models import DBTaskResult

    client.force_login(alice)
    url = reverse("map-points", args=[dataset.pk])
    assert client.get(url).json() == {"ready": False, "message": "Computing the map…"}
    assert client.get(url).json()["ready"] is False
    queued = DBTaskResult.objects.filter(task_path__endswith="projection_compute_task")
    assert [row.args_kwargs["args"] for row in queued] == [[space.pk]]  # queued only once


def test_no_space_says_so(client, alice, dataset):
    client.force_login(alice)
    text = client.get(reverse("embedding-map", args=[dataset.pk])).content.decode()
    assert "no embedding space yet" in text
    assert client.get(reverse("map-points", args=[dataset.pk])).json()["ready"] is False


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_access_levels(client, request, dataset, space, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("embedding-map", args=[dataset.pk])).status_code == status
    assert client.get(reverse("map-points", args=[dataset.pk])).status_code == status


def test_anonymous_is_sent_to_login(client, dataset):
    response = client.get(reverse("map-points", args=[dataset.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
