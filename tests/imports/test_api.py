"""Embedding spaces, metadata / annotation / prediction uploads (multipart), server imports.

Uploads answer 202 with a job; ``run_job`` executes it here and reads it back through the API."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from curation.models import Annotation, EmbeddingSpace, ImportRoot, Job, Sample
from curation.storage.embeddings import embedding_paths, embedding_space_load
from tests.support.jobs import run_job


@pytest.fixture
def samples(three_samples):
    """This module's ``samples``: the API fixture's three samples (not the browsing pages')."""
    return three_samples


def upload(name: str, content: str | bytes) -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data)


def embeddings_csv(names, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    header = "filenames," + ",".join(f"embedding_{i}" for i in range(dim)) + ",labels\n"
    rows = [f"{n}," + ",".join(f"{v:.4f}" for v in rng.normal(size=dim)) + ",0" for n in names]
    return header + "\n".join(rows) + "\n"


def space_json(space):
    return {
        "id": space.pk,
        "name": space.name,
        "dimension": space.dimension,
        "count": space.count,
        "normalized": space.normalized,
        "created": space.created.isoformat().replace("+00:00", "Z"),
        "updated": space.updated.isoformat().replace("+00:00", "Z"),
    }


def post(api, who, dataset, what, **files):
    return api(who).post(f"/api/datasets/{dataset.pk}/{what}/", files, format="multipart")


def test_team_member_uploads_a_lightly_csv(api, dataset, samples):
    csv = embeddings_csv(["a.jpg", "b.jpg", "c.jpg"])
    response = post(api, "bob", dataset, "embeddings", file=upload("emb.csv", csv), name="clip")
    job = run_job(api, "bob", response)
    assert job["status"] == "succeeded" and job["summary"]["embeddings"] == {"clip": [3, 3]}
    space = EmbeddingSpace.objects.get(dataset=dataset)
    assert (space.name, space.count, space.dimension, space.normalized) == ("clip", 3, 3, True)
    loaded = embedding_space_load(space)
    assert sorted(loaded.sample_ids.tolist()) == [s.pk for s in samples]


def test_it_uploads_npy_with_file_names_and_can_create_samples(api, dataset):
    buffer = io.BytesIO()
    np.save(buffer, np.eye(2, dtype=np.float32))
    response = post(
        api,
        "alice",
        dataset,
        "embeddings",
        file=upload("vectors.npy", buffer.getvalue()),
        file_names=upload("names.txt", "x.jpg\ny.jpg\n"),
        normalize="false",
        create_samples="true",
    )
    assert run_job(api, "alice", response)["status"] == "succeeded"
    assert sorted(Sample.objects.values_list("file_name", flat=True)) == ["x.jpg", "y.jpg"]
    assert EmbeddingSpace.objects.get().normalized is False


@pytest.mark.parametrize(
    "content,detail",
    [
        ("filenames,embedding_0\nzzz.jpg,1.0\n",
         "1 file name(s) in emb.csv match no image of the dataset: zzz.jpg"),
        ("filenames,embedding_0\na.jpg,1.0\nb.jpg,nan\n", "emb.csv"),
    ],
)  # fmt: skip
def test_a_bad_embeddings_file_fails_its_job_and_writes_nothing(
    api, dataset, samples, content, detail
):
    response = post(api, "alice", dataset, "embeddings", file=upload("emb.csv", content))
    job = run_job(api, "alice", response)
    assert job["status"] == "failed" and detail in job["error"]
    assert job["summary"] == {}
    assert not EmbeddingSpace.objects.exists()
    assert Sample.objects.count() == 3


@pytest.mark.parametrize(
    "files,detail",
    [
        ({"file": ("emb.txt", "hello")}, "emb.txt is not an embeddings file"),
        ({"file": ("emb.csv", "x"), "name": "../../etc"}, "name: This value does not match"),
        ({"file": ("emb.csv", "x"), "colour": "red"}, "colour: Unknown field."),
        ({}, "file: No file was submitted."),
    ],
)  # fmt: skip
def test_bad_embedding_upload_is_400_and_writes_nothing(api, dataset, samples, files, detail):
    data = {k: upload(*v) if isinstance(v, tuple) else v for k, v in files.items()}
    response = post(api, "alice", dataset, "embeddings", **data)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert not EmbeddingSpace.objects.exists() and not Job.objects.exists()
    assert Sample.objects.count() == 3


def test_json_to_an_upload_endpoint_is_415(api, dataset):
    response = api("alice").post(f"/api/datasets/{dataset.pk}/embeddings/", {"file": "x"})
    assert response.status_code == 415
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_upload_list_or_delete(api, dataset, samples, who, code):
    csv = embeddings_csv(["a.jpg"])
    assert post(api, who, dataset, "embeddings", file=upload("e.csv", csv)).status_code == code
    assert api(who).get(f"/api/datasets/{dataset.pk}/embeddings/").status_code == code
    assert not Job.objects.exists()
    run_job(api, "alice", post(api, "alice", dataset, "embeddings", file=upload("e.csv", csv)))
    space = EmbeddingSpace.objects.get()
    assert api(who).delete(f"/api/datasets/{dataset.pk}/embeddings/{space.pk}/").status_code == code
    assert EmbeddingSpace.objects.count() == 1


def test_list_and_delete(api, dataset, samples, django_capture_on_commit_callbacks):
    csv = embeddings_csv(["a.jpg"])
    run_job(api, "alice", post(api, "alice", dataset, "embeddings", file=upload("e.csv", csv)))
    space = EmbeddingSpace.objects.get()
    listing = api("bob").get(f"/api/datasets/{dataset.pk}/embeddings/").json()
    assert listing == {"next": None, "previous": None, "results": [space_json(space)]}
    files = embedding_paths(space)
    with django_capture_on_commit_callbacks(execute=True):
        response = api("bob").delete(f"/api/datasets/{dataset.pk}/embeddings/{space.pk}/")
    assert response.status_code == 204
    assert not EmbeddingSpace.objects.exists()
    assert not any(path.exists() for path in files)


def summary(**changes):
    base = {
        "images_added": 0,
        "images_skipped": 0,
        "images_failed": [],
        "samples_without_pixels": 0,
        "metadata_rows": 0,
        "embeddings": {},
        "object_embeddings": {},
        "annotations": {},
        "scores": {},
        "tags": {},
        "notes": [],
        "videos_added": 0,
        "videos_skipped": 0,
        "video_frames": 0,
        "unsupported": [],
    }
    return {**base, **changes}


def without_time(body):
    assert isinstance(body.pop("seconds"), float)
    return body


def test_metadata_upload(api, dataset, samples):
    csv = "file_name,weather,speed\na.jpg,sunny,3\nb.jpg,rainy,4.5\n"
    response = post(api, "bob", dataset, "metadata", file=upload("metadata.csv", csv))
    job = run_job(api, "bob", response)
    assert job["status"] == "succeeded" and job["created_by"] == "bob"
    assert without_time(job["summary"]) == summary(dataset=dataset.pk, metadata_rows=2)
    metadata = dict(Sample.objects.values_list("file_name", "metadata"))
    assert metadata["a.jpg"] == {"w": 1, "weather": "sunny", "speed": 3}
    assert metadata["b.jpg"] == {"w": 2, "weather": "rainy", "speed": 4.5}
    assert metadata["c.jpg"] == {"w": 3}


def test_a_bad_metadata_file_names_the_place_and_writes_nothing(api, dataset, samples):
    csv = "file_name,weather\na.jpg,sunny\nzzz.jpg,rainy\n"
    response = post(api, "alice", dataset, "metadata", file=upload("metadata.csv", csv))
    job = run_job(api, "alice", response)
    assert job["status"] == "failed"
    assert job["error"] == (
        "1 file name(s) in metadata.csv match no image of the dataset: zzz.jpg; check "
        "the names are relative to the image folder."
    )
    assert Sample.objects.get(file_name="a.jpg").metadata == {"w": 1}


def coco(labels):
    return json.dumps(
        {
            "images": [{"id": i, "file_name": n, "width": 10, "height": 10}
                       for i, n in enumerate(["a.jpg", "b.jpg"], start=1)],
            "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
            "annotations": [
                {"id": k, "image_id": img, "category_id": cat, "bbox": [1, 1, 2, 2], **extra}
                for k, (img, cat, extra) in enumerate(labels, start=1)
            ],
        }
    )  # fmt: skip


def test_annotation_upload(api, dataset, samples):
    body = coco([(1, 1, {}), (2, 2, {})])
    response = post(api, "bob", dataset, "annotations", file=upload("gt.json", body))
    assert without_time(run_job(api, "bob", response)["summary"]) == summary(
        dataset=dataset.pk, annotations={"ground_truth": 2}
    )
    rows = Annotation.objects.values_list("sample__file_name", "task__name", "label")
    assert sorted(rows) == [("a.jpg", "ground_truth", "cat"), ("b.jpg", "ground_truth", "dog")]


def test_prediction_upload_with_a_task_name(api, dataset, samples):
    body = coco([(1, 1, {"score": 0.9}), (2, 2, {"score": 0.4})])
    response = post(
        api, "alice", dataset, "predictions", file=upload("preds.json", body), task="yolo-v8"
    )
    assert run_job(api, "alice", response)["summary"]["annotations"] == {"yolo-v8": 2}
    assert sorted(Annotation.objects.values_list("task__name", "label", "score")) == [
        ("yolo-v8", "cat", 0.9),
        ("yolo-v8", "dog", 0.4),
    ]


def test_a_bad_annotation_file_is_400_and_writes_nothing(api, dataset, samples):
    response = post(api, "alice", dataset, "annotations", file=upload("gt.json", "{not json"))
    job = run_job(api, "alice", response)
    assert job["status"] == "failed" and job["error"].startswith("gt.json")
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("what", ["metadata", "annotations", "predictions"])
@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_others_cannot_upload(api, dataset, samples, what, who, code):
    csv = "file_name,weather\na.jpg,sunny\n"
    assert post(api, who, dataset, what, file=upload("m.csv", csv)).status_code == code
    assert Sample.objects.get(file_name="a.jpg").metadata == {"w": 1}
    assert not Annotation.objects.exists() and not Job.objects.exists()


def test_server_import_reads_only_below_the_import_roots(api, dataset, samples, team, tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "m.csv").write_text("file_name,weather\na.jpg,sunny\n")
    (tmp_path / "secret.csv").write_text("file_name,weather\na.jpg,leaked\n")
    ImportRoot.objects.create(path=str(allowed.resolve()), name="allowed", group=team)
    url = f"/api/datasets/{dataset.pk}/import/"
    response = api("bob").post(url, {"metadata": str(allowed / "m.csv")})
    assert run_job(api, "bob", response)["summary"]["metadata_rows"] == 1
    response = api("bob").post(url, {"metadata": str(allowed / ".." / "secret.csv")})
    assert response.status_code == 400  # checked before a job is made
    assert "outside the folders imports may read" in response.json()["detail"]
    assert Job.objects.count() == 1
    assert Sample.objects.get(file_name="a.jpg").metadata == {"w": 1, "weather": "sunny"}
