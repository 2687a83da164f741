"""The embedding map page and its points endpoint."""

from __future__ import annotations

import base64
import re
import struct

import numpy as np
import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from curation.browse.maps import projection_schedule
from curation.imports.services import dataset_import
from curation.models import EmbeddingSpace
from curation.storage.embeddings import embedding_space_store
from tests.support.ingest import make_images


def unpack(b64: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(base64.b64decode(b64), np.uint8), bitorder="little")[:n]


def test_page_has_the_canvas_and_the_filter(client, alice, dataset, space):
    client.force_login(alice)
    text = client.get(reverse("embedding-map", args=[dataset.pk]) + "?q=cat").content.decode()
    assert 'id="embedding-map"' in text and "embedding-map.js" in text
    assert "file name contains &#x27;cat&#x27;" in text
    assert 'data-filter-query="q=cat"' in text


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The points binary: b"CMAP", uint32 version, count, scale; ids u32, x u16, y u16."""
    magic, version, n, scale = struct.unpack_from("<4sIII", data)
    assert (magic, version, len(data)) == (b"CMAP", 1, 16 + 8 * n)
    ids = np.frombuffer(data, "<u4", n, 16)
    return (
        ids,
        np.frombuffer(data, "<u2", n, 16 + 4 * n),
        np.frombuffer(data, "<u2", n, 16 + 6 * n),
        scale,
    )


def test_points_are_projected_once_and_highlight_filter_and_tag(
    client, alice, dataset, samples, space, train_tag
):
    client.force_login(alice)
    response = client.get(reverse("map-points", args=[dataset.pk]) + "?space=default")
    assert response["Content-Type"] == "application/octet-stream"
    ids, x, y, scale = decode(response.content)
    assert len(ids) == 12 and all(0 <= v <= scale for v in [*x, *y])
    payload = client.get(
        reverse("map-mask", args=[dataset.pk]) + "?space=default&q=dog&highlight=train"
    ).json()
    assert payload["ready"] and payload["count"] == 12 and payload["etag"] == response["ETag"]
    by_id = {s.pk: s for s in samples}
    dogs = unpack(payload["filter_mask"], 12)
    assert [bool(m) for m in dogs] == [by_id[i].file_name.startswith("dog") for i in ids]
    assert payload["matching"] == sum(s.file_name.startswith("dog") for s in samples)
    tagged = unpack(payload["tag_mask"], 12)
    assert sorted(ids[tagged.astype(bool)]) == sorted(s.pk for s in samples[:4])
    projection = EmbeddingSpace.objects.get(pk=space.pk).projection
    assert (ids.tolist(), x.tolist(), y.tolist(), scale) == (
        projection["ids"],
        projection["x"],
        projection["y"],
        projection["scale"],
    )


def test_the_binary_is_revalidated_by_etag(client, alice, dataset, samples, space):
    client.force_login(alice)
    url = reverse("map-points", args=[dataset.pk]) + "?space=default"
    first = client.get(url)
    assert first["ETag"].startswith('"') and "no-cache" in first["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
    assert client.get(url, headers={"If-None-Match": '"other"'}).content == first.content


def test_a_bad_filter_is_reported_with_the_mask(client, alice, dataset, samples, space):
    client.force_login(alice)
    url = reverse("map-mask", args=[dataset.pk]) + "?space=default&tag=nope"
    payload = client.get(url).json()
    assert payload["ready"] and "filter_mask" not in payload
    assert payload["error"] == "No tag named 'nope' in dataset 'cats'."


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_binary_and_mask_access_levels(
    client, request, dataset, samples, space, train_tag, who, status
):
    client.force_login(request.getfixturevalue(who))
    points = client.get(reverse("map-points", args=[dataset.pk]) + "?space=default")
    mask = client.get(reverse("map-mask", args=[dataset.pk]) + "?space=default&highlight=train")
    assert (points.status_code, mask.status_code) == (status, status)
    if status == 200:
        ids, _, _, _ = decode(points.content)
        assert sorted(ids.tolist()) == sorted(s.pk for s in samples)
        assert unpack(mask.json()["tag_mask"], 12).sum() == 4
    else:
        assert b"CMAP" not in points.content and b"tag_mask" not in mask.content


def _store(dataset, samples):
    """Vectors stored without a map (as spaces stored before maps were scheduled)."""
    matrix = np.random.default_rng(1).normal(size=(len(samples), 4)).astype(np.float32)
    return embedding_space_store(
        dataset=dataset, name="default", matrix=matrix, sample_ids=[s.pk for s in samples]
    )


def test_large_spaces_are_queued_once_by_the_write_and_pages_only_read(
    client, alice, dataset, samples, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("curation.browse.projections.INLINE_LIMIT", 5)
    space = _store(dataset, samples)
    with django_capture_on_commit_callbacks(execute=True):
        projection_schedule(space=space)
        projection_schedule(space=EmbeddingSpace.objects.get(pk=space.pk))
    queued = DBTaskResult.objects.filter(task_path__endswith="projection_compute_task")
    assert [row.args_kwargs["args"] for row in queued] == [[space.pk]]  # queued only once

    client.force_login(alice)
    url = reverse("map-points", args=[dataset.pk])
    assert client.get(url).json() == {"ready": False, "message": "Computing the map…"}
    mask = client.get(reverse("map-mask", args=[dataset.pk])).json()
    assert mask == {"ready": False, "message": "Computing the map…"}
    assert DBTaskResult.objects.count() == 1
    assert EmbeddingSpace.objects.get(pk=space.pk).projection == {"pending": True}


def test_a_space_without_a_map_says_so_and_a_get_writes_nothing(client, alice, dataset, samples):
    space = _store(dataset, samples)
    client.force_login(alice)
    page = client.get(reverse("embedding-map", args=[dataset.pk])).content.decode()
    assert "Compute the map" in page
    missing = {
        "ready": False,
        "missing": True,
        "message": "This space has no map yet: press Compute the map.",
    }
    assert client.get(reverse("map-points", args=[dataset.pk])).json() == missing
    assert client.get(reverse("map-mask", args=[dataset.pk])).json() == missing
    assert EmbeddingSpace.objects.get(pk=space.pk).projection is None
    assert not DBTaskResult.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("alice", 302), ("bob", 302), ("charlie", 404)])
def test_compute_the_map_is_a_post(client, request, dataset, samples, who, status):
    space = _store(dataset, samples)
    client.force_login(request.getfixturevalue(who))
    url = reverse("map-compute", args=[dataset.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"space": "default"})
    assert response.status_code == status
    projection = EmbeddingSpace.objects.get(pk=space.pk).projection
    if status == 302:
        assert response["Location"].endswith("/map/?space=default")
        assert projection is not None and len(projection["ids"]) == len(samples)
    else:
        assert projection is None


def test_imports_map_the_spaces_they_store(client, alice, dataset, tmp_path):
    names = [f"img{i}.png" for i in range(6)]
    folder = make_images(tmp_path / "images", names)
    dataset_import(dataset=dataset, images=folder, workers=0)
    spaces = list(EmbeddingSpace.objects.filter(dataset=dataset))
    assert spaces and all(len(s.projection["ids"]) == 6 for s in spaces)


def test_no_space_says_so(client, alice, dataset):
    client.force_login(alice)
    text = client.get(reverse("embedding-map", args=[dataset.pk])).content.decode()
    assert "no embedding space yet" in text
    assert client.get(reverse("map-points", args=[dataset.pk])).json()["ready"] is False
    assert client.get(reverse("map-mask", args=[dataset.pk])).json() == {
        "ready": False,
        "error": "This dataset has no embedding space.",
    }


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_access_levels(client, request, dataset, space, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("embedding-map", args=[dataset.pk])).status_code == status
    assert client.get(reverse("map-points", args=[dataset.pk])).status_code == status
    assert client.get(reverse("map-mask", args=[dataset.pk])).status_code == status


@pytest.mark.parametrize("name", ["map-points", "map-mask"])
def test_anonymous_is_sent_to_login(client, dataset, name):
    response = client.get(reverse(name, args=[dataset.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_box_selection_reads_the_cached_binary(client, alice, dataset, samples, space):
    """Once the points binary is cached, region filters use it (no JSON parse at 1M)."""
    client.force_login(alice)
    ids, x, y, scale = decode(
        client.get(reverse("map-points", args=[dataset.pk]) + "?space=default").content
    )
    inside = sorted(int(i) for i, a, b in zip(ids, x, y, strict=True) if a <= scale / 2 >= b)
    EmbeddingSpace.objects.filter(pk=space.pk).update(projection=None)  # only the binary left
    url = reverse("dataset-browser", args=[dataset.pk]) + "?box:default=0,0,0.5,0.5"
    text = client.get(url).content.decode()
    assert f"{len(inside)}</strong> sample" in text
    assert sorted(int(v) for v in re.findall(r'name="sample" value="(\d+)"', text)) == inside
