"""``POST /api/datasets/{id}/object-embeddings/`` at every access level; bad rows refused
with file and line, nothing written."""

from __future__ import annotations

import io

import numpy as np
import pytest

from curation.models import Annotation, EmbeddingSpace
from tests.support.objects import TASK, populate_objects

CSV = "filename,object_index,embedding_0,embedding_1\nimg_0000.jpg,0,1,2\nimg_0001.jpg,1,3,4\n"


def _post(api, who, dataset, text=CSV, **extra):
    upload = io.BytesIO(text.encode())
    upload.name = "objects.csv"
    body = {"file": upload, "task": TASK, **extra}
    return api(who).post(f"/api/datasets/{dataset.pk}/object-embeddings/", body, format="multipart")


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owner_and_team_member_upload_object_embeddings(api, dataset, who):
    populate_objects(dataset, images=3, per_image=2)
    response = _post(api, who, dataset)
    assert response.status_code == 201, response.content
    assert response.json() == {"name": f"objects:{TASK}", "task": TASK, "count": 2, "dimension": 2}
    space = EmbeddingSpace.all_spaces.get(dataset=dataset)
    assert space.task.name == TASK


@pytest.mark.parametrize(("who", "status"), [("charlie", 404), ("anonymous", 401)])
def test_outsiders_cannot_upload_object_embeddings(api, dataset, who, status):
    populate_objects(dataset, images=3, per_image=2)
    assert _post(api, who, dataset).status_code == status
    assert not EmbeddingSpace.all_spaces.exists()


def test_a_box_outside_the_image_is_refused_with_file_and_line(api, dataset):
    populate_objects(dataset, images=3, per_image=2)
    first = Annotation.objects.filter(sample__file_name="img_0001.jpg").order_by("pk")[1]
    Annotation.objects.filter(pk=first.pk).update(x=-30)
    response = _post(api, "alice", dataset)
    assert response.status_code == 400, response.content
    assert response.json()["path"] == "file"
    assert response.json()["detail"].startswith(
        "file: objects.csv line 3: object 1 of img_0001.jpg: box (-30, "
    )
    assert not EmbeddingSpace.all_spaces.exists()


def test_a_npy_upload_with_its_keys(api, dataset):
    populate_objects(dataset, images=3, per_image=2)
    buffer = io.BytesIO()
    np.save(buffer, np.eye(2, 3, dtype=np.float32))
    buffer.seek(0)
    buffer.name = "vectors.npy"
    keys = io.BytesIO(b"filename,object_index\nimg_0002.jpg,0\nimg_0002.jpg,1\n")
    keys.name = "keys.csv"
    body = {"file": buffer, "keys": keys, "task": TASK, "name": "mine"}
    response = api("alice").post(
        f"/api/datasets/{dataset.pk}/object-embeddings/", body, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "mine" and response.json()["count"] == 2
