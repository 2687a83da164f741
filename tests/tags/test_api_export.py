"""``/api/datasets/{id}/tags/{tag_id}/export/``: every export format as a download."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from curation.models import Annotation, AnnotationTask
from curation.tags.services import tag_create


@pytest.fixture
def samples(three_samples):
    """This module's ``samples``: the API fixture's three samples (not the browsing pages')."""
    return three_samples


@pytest.fixture
def picked(samples):
    dataset = samples[0].dataset
    task = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="detection", categories=["cat"]
    )
    Annotation.objects.create(sample=samples[0], task=task, label="cat", x=1, y=2, w=3, h=4)
    return tag_create(dataset=dataset, name="picked", sample_ids=[samples[0].pk, samples[2].pk])


def get(api, who, tag, query):
    return api(who).get(f"/api/datasets/{tag.dataset_id}/tags/{tag.pk}/export/?{query}")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_filenames(api, picked, who):
    response = get(api, who, picked, "format=filenames")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="cats-picked.txt"'
    assert body(response) == b"a.jpg\nc.jpg\n"


def test_csv(api, picked):
    response = get(api, "alice", picked, "format=csv")
    assert response["Content-Type"] == "text/csv"
    lines = body(response).decode().splitlines()
    assert lines[0].split(",")[0] == "file_name"
    assert [line.split(",")[0] for line in lines[1:]] == ["a.jpg", "c.jpg"]


def test_coco(api, picked, samples):
    response = get(api, "alice", picked, "format=coco&task=ground_truth")
    assert response["Content-Type"] == "application/json"
    document = json.loads(body(response))
    assert [image["file_name"] for image in document["images"]] == ["a.jpg", "c.jpg"]
    assert [a["bbox"] for a in document["annotations"]] == [[1.0, 2.0, 3.0, 4.0]]


def test_yolo_is_a_zip(api, picked):
    response = get(api, "alice", picked, "format=yolo")
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(body(response))).namelist()
    assert any(name.endswith("data.yaml") for name in names)


@pytest.mark.parametrize(
    "query,detail",
    [
        ("format=pdf", 'format: "pdf" is not a valid choice.'),
        ("", "format: This field is required."),
        ("format=coco&task=nope", "cats has no task 'nope' (tasks: ground_truth)."),
        ("format=csv&colour=red", "colour: Unknown field."),
    ],
)
def test_bad_export_is_400_json(api, picked, query, detail):
    response = get(api, "alice", picked, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith(detail)


def test_errors_are_json_whatever_the_accept_header(api, picked):
    response = api("alice").get(
        f"/api/datasets/{picked.dataset_id}/tags/{picked.pk}/export/?format=pdf",
        HTTP_ACCEPT="text/csv",
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": 'format: "pdf" is not a valid choice. '
        "Use one of filenames, csv, coco, yolo, lightly-csv, objects-csv, object-crops, "
        "video_frames.",
        "path": "format",
    }


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_export(api, picked, who, code):
    assert get(api, who, picked, "format=filenames").status_code == code
