"""Images and thumbnails: access, caching headers, conditional requests, sendfile, traversal."""

from __future__ import annotations

import pytest
from django.urls import reverse
from PIL import Image

from curation.models import Sample


def test_it_serves_the_original_with_cache_headers(client, alice, samples, image_root):
    client.force_login(alice)
    response = client.get(reverse("sample-image", args=[samples[0].pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == (image_root / "cat_00.png").read_bytes()
    assert response["Cache-Control"].startswith("private")
    assert response["ETag"] and response["Last-Modified"]


def test_conditional_requests_get_304(client, alice, samples):
    client.force_login(alice)
    url = reverse("sample-image", args=[samples[0].pk])
    etag = client.get(url)["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    last_modified = client.get(url)["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304


def test_thumbnail_falls_back_to_the_original_then_uses_the_thumbnail(
    client, alice, samples, settings
):
    client.force_login(alice)
    url = reverse("sample-thumbnail", args=[samples[0].pk])
    assert client.get(url)["Content-Type"] == "image/png"
    thumb = settings.MEDIA_ROOT / "datasets" / "thumbs" / "t.webp"
    thumb.parent.mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(thumb, format="WEBP")
    Sample.objects.filter(pk=samples[0].pk).update(thumbnail="datasets/thumbs/t.webp")
    assert client.get(url)["Content-Type"] == "image/webp"


def test_x_accel_redirect_and_x_sendfile(client, alice, samples, image_root, settings):
    client.force_login(alice)
    url = reverse("sample-image", args=[samples[0].pk])
    settings.CURATION_SENDFILE = "x-accel-redirect"
    response = client.get(url)
    path = str((image_root / "cat_00.png").resolve())
    assert response["X-Accel-Redirect"] == "/_protected" + path and response.content == b""
    settings.CURATION_SENDFILE = "x-sendfile"
    assert client.get(url)["X-Sendfile"] == path


def test_path_traversal_is_impossible(client, alice, dataset, samples, tmp_path):
    (tmp_path / "outside.png").write_bytes(b"secret")
    evil = Sample.objects.create(dataset=dataset, file_name="../outside.png")
    absolute = Sample.objects.create(dataset=dataset, file_name=str(tmp_path / "outside.png"))
    linked = Sample.objects.create(dataset=dataset, file_name="link.png")
    (tmp_path / "images" / "link.png").symlink_to(tmp_path / "outside.png")
    client.force_login(alice)
    for sample in (evil, absolute, linked):
        assert client.get(reverse("sample-image", args=[sample.pk])).status_code == 404
    Sample.objects.filter(pk=samples[0].pk).update(thumbnail="../../outside.png")
    response = client.get(reverse("sample-thumbnail", args=[samples[0].pk]))
    assert response["Content-Type"] == "image/png"  # the original, not the escaped file


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_access_levels(client, request, samples, who, status):
    client.force_login(request.getfixturevalue(who))
    for name in ("sample-image", "sample-thumbnail"):
        assert client.get(reverse(name, args=[samples[0].pk])).status_code == status


def test_outsider_file_is_404_for_alice_and_anonymous_goes_to_login(
    client, alice, outsider_dataset
):
    sample = outsider_dataset.samples.get()
    response = client.get(reverse("sample-image", args=[sample.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(alice)
    assert client.get(reverse("sample-image", args=[sample.pk])).status_code == 404
