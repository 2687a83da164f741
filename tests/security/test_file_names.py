"""Every entry point that creates or names sample files refuses names that could leave the
dataset's folder — with one sentence naming the file, the line (or row) and the name — and
writes nothing (issue 10.1)."""

from __future__ import annotations

import io
import json
import os
from io import StringIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from curation.imports.services import IngestError, dataset_import
from curation.models import Sample
from tests.support.ingest import (
    assert_nothing_written,
    lightly_csv,
    make_images,
    write_csv,
    write_json,
)

ESCAPE = "../../../../tmp/x/v.txt"
HINT = "file names must be relative paths inside the dataset's folder."


def csv_upload(name: str, names: list[str]) -> io.BytesIO:
    header = "filenames,embedding_0,embedding_1\n"
    body = "".join(f"{n},{i}.0,1.0\n" for i, n in enumerate(names))
    handle = io.BytesIO((header + body).encode())
    handle.name = name
    return handle


def refusal(client, response) -> str:
    """The sentence an upload was refused with: a 400 at once, or (uploads that run as
    background jobs) a 202 whose job ended failed."""
    if response.status_code == 202:
        job = client.get(response.json()["url"]).json()
        assert job["status"] == "failed", job
        return job["error"]
    assert response.status_code == 400, response.content
    return response.json()["detail"]


def upload_embeddings(api, who, dataset, names, capture):
    client = api(who)
    with capture(execute=True):
        response = client.post(
            f"/api/datasets/{dataset.pk}/embeddings/",
            {"file": csv_upload("emb.csv", names), "create_samples": "true"},
            format="multipart",
        )
    return refusal(client, response)


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def test_api_embeddings_upload_with_create_samples_refuses_dotdot(
    api, dataset, immediate_tasks, django_capture_on_commit_callbacks
):
    """The issue's reproduction: the name is refused, nothing is written."""
    sentence = upload_embeddings(
        api, "alice", dataset, ["ok.jpg", ESCAPE], django_capture_on_commit_callbacks
    )
    assert sentence == (
        f"Line 3 of emb.csv: the file name {ESCAPE!r} contains a '..' segment; {HINT}"
    )
    assert_nothing_written(dataset)


def test_api_embeddings_upload_refuses_an_absolute_name_instead_of_rewriting_it(
    api, dataset, immediate_tasks, django_capture_on_commit_callbacks
):
    sentence = upload_embeddings(
        api, "bob", dataset, ["/etc/passwd"], django_capture_on_commit_callbacks
    )
    assert sentence == f"Line 2 of emb.csv: the file name '/etc/passwd' is an absolute path; {HINT}"
    assert Sample.objects.count() == 0


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("a\\b.jpg", "contains a backslash"),
        ("sub/../../x.jpg", "contains a '..' segment"),
        ("/abs/x.jpg", "is an absolute path"),
    ],
)
def test_every_embeddings_format_refuses_bad_names(dataset, tmp_path, bad, reason):
    names = ["a.jpg", bad]
    matrix = np.eye(2, dtype=np.float32)
    lightly_csv(tmp_path / "e.csv", names, matrix)
    np.save(tmp_path / "e.npy", matrix)
    (tmp_path / "e.filenames.txt").write_text("\n".join(names) + "\n")
    write_json(tmp_path / "names.json", names)
    pq.write_table(
        pa.table({"file_name": names, "embedding": [list(r) for r in matrix.tolist()]}),
        tmp_path / "e.parquet",
    )
    cases = [
        ({"embeddings": tmp_path / "e.csv"}, "Line 3 of e.csv"),
        ({"embeddings": tmp_path / "e.npy"}, "Line 2 of e.filenames.txt"),
        (
            {"embeddings": tmp_path / "e.npy", "embedding_filenames": tmp_path / "names.json"},
            "Item 2 of names.json",
        ),
        ({"embeddings": tmp_path / "e.parquet"}, "Row 2 of e.parquet"),
    ]
    for options, where in cases:
        with pytest.raises(IngestError) as caught:
            dataset_import(dataset=dataset, samples_from_embeddings=True, **options)
        assert str(caught.value) == f"{where}: the file name {bad!r} {reason}; {HINT}"
        assert_nothing_written(dataset)


def test_metadata_and_annotation_files_refuse_bad_names(dataset, tmp_path):
    folder = make_images(tmp_path / "images", ["a.jpg"])
    metadata = write_csv(tmp_path / "m.csv", ["file_name", "x"], [["a.jpg", 1], ["../a.jpg", 2]])
    coco = write_json(
        tmp_path / "gt.json",
        {
            "images": [{"id": 7, "file_name": "/data/a.jpg"}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [],
        },
    )
    labels = write_csv(tmp_path / "labels.csv", ["file_name", "label"], [["a\\b.jpg", "cat"]])
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text(json.dumps({"file_name": "x\u0001.jpg", "k": 1}) + "\n")
    cases = [
        ({"metadata": metadata}, "Line 3 of m.csv: the file name '../a.jpg' contains a '..'"),
        ({"metadata": jsonl}, "Line 1 of m.jsonl: the file name 'x\\x01.jpg' contains a control"),
        ({"annotations": coco}, "Image id 7 (/data/a.jpg) of gt.json: the file name '/data/a.jpg'"),
        ({"annotations": labels}, "Line 2 of labels.csv: the file name 'a\\\\b.jpg' contains a"),
    ]
    for options, start in cases:
        with pytest.raises(IngestError) as caught:
            dataset_import(dataset=dataset, images=folder, workers=0, **options)
        assert str(caught.value).startswith(start), str(caught.value)
        assert str(caught.value).endswith(HINT)
        assert_nothing_written(dataset)


def test_lightly_predictions_refuse_bad_names_and_task_folders_outside(dataset, tmp_path):
    folder = make_images(tmp_path / "images", ["a.jpg"])
    predictions = tmp_path / "predictions" / "cls"
    write_json(
        predictions / "schema.json",
        {"task_type": "classification", "categories": [{"id": 0, "name": "cat"}]},
    )
    write_json(predictions / "a.json", {"file_name": "../a.jpg", "predictions": []})
    with pytest.raises(IngestError, match=r"^cls/a.json: the file name '../a.jpg' contains"):
        dataset_import(dataset=dataset, images=folder, predictions=[predictions], workers=0)
    write_json(tmp_path / "predictions" / "tasks.json", ["../escape"])
    with pytest.raises(IngestError, match=r"leads outside predictions \(through a symlink or"):
        dataset_import(dataset=dataset, images=folder, predictions=[predictions.parent], workers=0)
    assert_nothing_written(dataset)


def test_a_yolo_label_file_linked_from_outside_is_refused(dataset, tmp_path):
    folder = make_images(tmp_path / "images", ["a.jpg"])
    yolo = tmp_path / "yolo"
    (yolo / "labels").mkdir(parents=True)
    (yolo / "data.yaml").write_text("names: [cat]\n")
    (tmp_path / "secret.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    os.symlink(tmp_path / "secret.txt", yolo / "labels" / "a.txt")
    with pytest.raises(IngestError, match=r"^a.txt leads outside yolo \(through a symlink"):
        dataset_import(dataset=dataset, images=folder, annotations=yolo, workers=0)
    assert_nothing_written(dataset)


def test_image_scans_refuse_bad_names_and_symlinked_folders(dataset, tmp_path):
    folder = make_images(tmp_path / "images", ["a.jpg", "back\\slash.jpg", "new\nline.jpg"])
    make_images(tmp_path / "elsewhere", ["e.jpg"])
    os.symlink(tmp_path / "elsewhere", folder / "linked")
    os.symlink(tmp_path / "elsewhere" / "e.jpg", folder / "out.jpg")

    summary = dataset_import(dataset=dataset, images=folder, workers=0, embed="never")

    assert list(Sample.objects.values_list("file_name", flat=True)) == ["a.jpg"]
    assert dict(summary.images_failed) == {
        "back\\\\slash.jpg": "its name contains a backslash",
        "linked/": "a symlinked folder, which imports skip",
        "new\\nline.jpg": "its name contains a control character",
        "out.jpg": "a symlink to a file outside the image folder",
    }


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="root-password")


def test_cli_import_refuses_a_bad_name_with_one_sentence(admin, tmp_path):
    emb = lightly_csv(tmp_path / "emb.csv", ["a.jpg", ESCAPE], np.eye(2))
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_dataset",
            "evil",
            "--embeddings",
            str(emb),
            "--samples-from-embeddings",
            stdout=StringIO(),
        )
    assert str(caught.value) == (
        f"error: Line 3 of emb.csv: the file name {ESCAPE!r} contains a '..' segment; {HINT}"
    )
    assert Sample.objects.count() == 0
