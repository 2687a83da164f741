"""The crop of an object: who may see it, its pixels (the box's slice of the original, plus
padding, clipped at the border, shrunk when large), the on-disk cache (the only write of a GET),
and one sentence for what cannot be cropped."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from curation.models import Annotation, AnnotationTask
from curation.objects.crops import CROP_MAX
from curation.storage.frames import sample_file_path
from tests.support.objects import populate_objects, write_pixels
from tests.support.video_rows import video_with_frames


@pytest.fixture
def objects(dataset, tmp_path):
    _sample_ids, task, ann_ids = populate_objects(dataset, images=3, per_image=2)
    root = tmp_path / "images"
    write_pixels(root, dataset)
    dataset.image_root = str(root)
    dataset.save(update_fields=["image_root"])
    return root, task, ann_ids


def _crop(client, annotation_id, query=""):
    url = reverse("object-crop", args=[annotation_id])
    return client.get(f"{url}?{query}" if query else url)


def _pixels(response) -> np.ndarray:
    body = b"".join(response.streaming_content)
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def _original(root, annotation) -> np.ndarray:
    with Image.open(root / annotation.sample.file_name) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_crop_is_the_box_slice_of_the_original(client, request, objects, who):
    root, _task, ann_ids = objects
    client.force_login(request.getfixturevalue(who))
    annotation = Annotation.objects.select_related("sample").get(pk=ann_ids[0])
    Annotation.objects.filter(pk=annotation.pk).update(x=10, y=8, w=20, h=10)
    original = _original(root, annotation)
    response = _crop(client, annotation.pk, "padding=0")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private")
    assert np.array_equal(_pixels(response), original[8:18, 10:30])
    # the default padding (10%): 2 px left / right, 1 px top / bottom
    assert np.array_equal(_pixels(_crop(client, annotation.pk)), original[7:19, 8:32])
    # 50%: 10 px left / right, 5 px top / bottom
    assert np.array_equal(
        _pixels(_crop(client, annotation.pk, "padding=0.5")), original[3:23, 0:40]
    )


def test_a_box_reaching_outside_the_image_is_clipped(client, alice, objects):
    root, _task, ann_ids = objects
    annotation = Annotation.objects.select_related("sample").get(pk=ann_ids[1])
    Annotation.objects.filter(pk=annotation.pk).update(x=55.5, y=-4, w=20, h=10)  # 64x48 image
    client.force_login(alice)
    pixels = _pixels(_crop(client, annotation.pk, "padding=0"))
    assert np.array_equal(pixels, _original(root, annotation)[0:6, 55:64])


def test_a_box_wholly_outside_or_an_unreadable_image_is_404(client, alice, objects):
    root, _task, ann_ids = objects
    Annotation.objects.filter(pk=ann_ids[0]).update(x=100, y=100, w=5, h=5)
    client.force_login(alice)
    response = _crop(client, ann_ids[0])
    assert response.status_code == 404
    annotation = Annotation.objects.select_related("sample").get(pk=ann_ids[2])
    (root / annotation.sample.file_name).write_bytes(b"not an image")
    assert _crop(client, annotation.pk).status_code == 404
    (root / annotation.sample.file_name).unlink()
    assert _crop(client, annotation.pk).status_code == 404


def test_a_large_crop_is_shrunk_to_a_thumbnail(client, alice, dataset, objects):
    root, _task, ann_ids = objects
    annotation = Annotation.objects.select_related("sample").get(pk=ann_ids[0])
    big = np.random.default_rng(3).integers(0, 256, size=(300, 500, 3), dtype=np.uint8)
    Image.fromarray(big).save(root / annotation.sample.file_name, format="PNG")
    Annotation.objects.filter(pk=annotation.pk).update(x=0, y=0, w=400, h=200)
    client.force_login(alice)
    pixels = _pixels(_crop(client, annotation.pk, "padding=0"))
    assert pixels.shape == (CROP_MAX * 200 // 400, CROP_MAX, 3)


def test_outsiders_get_404_and_anonymous_users_log_in(client, charlie, objects):
    ann_id = objects[2][0]
    response = _crop(client, ann_id)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(charlie)
    assert _crop(client, ann_id).status_code == 404
    assert _crop(client, 10**9).status_code == 404


def test_a_padding_no_page_offers_is_a_400(client, alice, objects):
    client.force_login(alice)
    assert _crop(client, objects[2][0], "padding=3").status_code == 400


def test_the_crop_is_cached_on_disk_and_remade_when_the_box_moves(client, alice, objects, settings):
    root, _task, ann_ids = objects
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        first = _crop(client, ann_ids[0])
        b"".join(first.streaming_content)
    assert not [q for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    cached = list((settings.MEDIA_ROOT / "datasets").rglob("*.png"))
    assert len(cached) == 1
    etag = first["ETag"]
    assert _crop(client, ann_ids[0]).status_code == 200
    assert list((settings.MEDIA_ROOT / "datasets").rglob("*.png")) == cached
    assert (
        client.get(
            reverse("object-crop", args=[ann_ids[0]]), headers={"If-None-Match": etag}
        ).status_code
        == 304
    )
    Annotation.objects.filter(pk=ann_ids[0]).update(x=1, y=1, w=6, h=6)
    annotation = Annotation.objects.select_related("sample").get(pk=ann_ids[0])
    pixels = _pixels(_crop(client, ann_ids[0], "padding=0"))
    assert np.array_equal(pixels, _original(root, annotation)[1:7, 1:7])
    assert len(list((settings.MEDIA_ROOT / "datasets").rglob("*.png"))) == 2


def test_a_crop_costs_a_bounded_number_of_queries(
    client, alice, objects, django_assert_max_num_queries
):
    client.force_login(alice)
    with django_assert_max_num_queries(3):
        assert _crop(client, objects[2][0]).status_code == 200


@pytest.mark.django_db
def test_the_crop_of_a_box_on_a_video_frame_reads_the_frames_store(client, alice, dataset):
    dataset.image_root = ""
    dataset.save(update_fields=["image_root"])
    _video, frames = video_with_frames(dataset, "clips/a.mp4", frames=2)
    task = AnnotationTask.objects.create(dataset=dataset, name="boxes", kind="detection")
    annotation = Annotation.objects.create(
        sample=frames[1], task=task, label="car", x=4, y=2, w=10, h=8
    )
    client.force_login(alice)
    with Image.open(sample_file_path(frames[1])) as opened:
        original = np.asarray(opened.convert("RGB"))
    response = _crop(client, annotation.pk, "padding=0")
    assert response.status_code == 200
    assert np.array_equal(_pixels(response), original[2:10, 4:14])
