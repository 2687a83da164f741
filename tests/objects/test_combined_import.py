"""One import of images, annotations AND object embeddings (``manage.py import_dataset
--images … --annotations … --object-embeddings …``, an import job with the same options): the
object space is resolved against the boxes the import writes and stored in the same
transaction, so a bad object row leaves nothing of the whole import — proven by counting every
row and file before and after."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from curation.jobs.services import import_job_start
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    ImportRoot,
    Sample,
    Score,
    Tag,
    TagSample,
)
from curation.storage.embeddings import embedding_space_load
from tests.support.ingest import make_images, write_csv, write_json
from tests.support.jobs import run_job

NAMES = ["a.jpg", "b.jpg", "c.png"]
GT = "ground_truth"
HEADER = ["annotation_id", "embedding_0", "embedding_1"]


@pytest.fixture
def inputs(tmp_path):
    """An image folder (40x30 images), a COCO file with three boxes (ids 11, 12 on a.jpg, 13 on
    b.jpg) and object embeddings keyed by those annotation ids."""
    folder = make_images(tmp_path / "images", NAMES)
    coco = {
        "images": [
            {"id": i + 1, "file_name": n, "width": 40, "height": 30} for i, n in enumerate(NAMES)
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}],
        "annotations": [
            {"id": 11, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 12, "image_id": 1, "category_id": 2, "bbox": [5, 5, 8, 8]},
            {"id": 13, "image_id": 2, "category_id": 1, "bbox": [2, 2, 5, 5]},
        ],
    }
    gt = write_json(tmp_path / "gt.json", coco)
    good = write_csv(tmp_path / "objects.csv", HEADER, [[13, 0, 1], [11, 1, 0], [12, 3, 4]])
    bad = write_csv(tmp_path / "bad.csv", HEADER, [[11, 1, 0], [99, 0, 1]])
    return folder, gt, good, bad


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_dataset", *args, "--workers", "0", "--owner", "alice", stdout=out)
    return out.getvalue()


def state() -> dict[str, object]:
    """Every row count an import may change, and every file below MEDIA_ROOT and the
    embeddings root (staging folders included)."""
    counts: dict[str, object] = {
        model.__name__: model.objects.count()
        for model in (Dataset, Sample, Tag, TagSample, AnnotationTask, Annotation, Score)
    }
    counts["spaces"] = EmbeddingSpace.all_spaces.count()
    files = []
    for root in (Path(settings.MEDIA_ROOT), Path(settings.CURATION_EMBEDDINGS_ROOT)):
        for folder, _dirs, names in os.walk(root):
            files += [os.path.join(folder, name) for name in names]
    counts["files"] = sorted(files)
    return counts


def _objects_by_annotation(space: EmbeddingSpace) -> dict[int, list[float]]:
    loaded = embedding_space_load(space)
    return dict(zip(loaded.sample_ids.tolist(), loaded.matrix.tolist(), strict=True))


def test_images_annotations_and_object_embeddings_in_one_import(alice, inputs):
    folder, gt, good, _ = inputs
    output = run(
        "street",
        "--images", str(folder),
        "--annotations", str(gt),
        "--object-embeddings", str(good),
        "--task", GT,
        "--raw-embeddings",
    )  # fmt: skip
    dataset = Dataset.objects.get(name="street")
    assert Sample.objects.filter(dataset=dataset).count() == 3
    space = EmbeddingSpace.all_spaces.get(dataset=dataset, task__name=GT)
    assert (space.name, space.count, space.dimension) == (f"objects:{GT}", 3, 2)
    boxes = {
        (a.sample.file_name, a.x, a.y): a.pk
        for a in Annotation.objects.filter(task__dataset=dataset).select_related("sample")
    }
    vectors = _objects_by_annotation(space)  # COCO ids resolved through gt.json (the default)
    assert vectors == {
        boxes[("b.jpg", 2, 2)]: [0.0, 1.0],
        boxes[("a.jpg", 1, 1)]: [1.0, 0.0],
        boxes[("a.jpg", 5, 5)]: [3.0, 4.0],
    }
    assert f"Object embeddings 'objects:{GT}': 3 objects x 2." in output
    assert "Annotations 'ground_truth': 3." in output


def test_a_bad_object_row_leaves_nothing_of_a_new_dataset(alice, inputs):
    folder, gt, _, bad = inputs
    before = state()
    with pytest.raises(CommandError) as caught:
        run(
            "street",
            "--images", str(folder),
            "--annotations", str(gt),
            "--object-embeddings", str(bad),
            "--task", GT,
        )  # fmt: skip
    assert str(caught.value) == (
        "error: bad.csv line 3: unknown annotation id 99 (the COCO file has no box with that id)."
    )
    assert state() == before  # no dataset, sample, annotation, space, thumbnail or vector file


def test_a_bad_object_row_leaves_an_existing_dataset_unchanged(alice, inputs, tmp_path):
    folder, gt, _, _ = inputs
    run("street", "--images", str(folder))  # images (and the built-in space) first
    before = state()
    assert before["Sample"] == 3 and before["spaces"] == 1 and before["files"]
    keyed = write_csv(
        tmp_path / "keyed.csv",
        ["filename", "object_index", "embedding_0"],
        [["a.jpg", 0, 1], ["a.jpg", 2, 2]],  # a.jpg has boxes 0 and 1 only
    )
    with pytest.raises(CommandError) as caught:
        run(
            "street",
            "--annotations", str(gt),
            "--object-embeddings", str(keyed),
            "--task", GT,
        )  # fmt: skip
    assert str(caught.value).startswith("error: keyed.csv line 3: unknown object 2 of a.jpg")
    assert state() == before  # the annotations were rolled back with the object space


def test_the_task_is_required_and_checked_before_the_images(alice, inputs):
    folder, _, good, _ = inputs
    before = state()
    with pytest.raises(CommandError, match=r"--task NAME"):
        run("street", "--images", str(folder), "--object-embeddings", str(good))
    with pytest.raises(CommandError, match="has no task 'cars'"):
        run("street", "--images", str(folder), "--object-embeddings", str(good), "--task", "cars")
    assert state() == before


@pytest.mark.parametrize("good_rows", [True, False])
def test_an_import_job_with_images_annotations_and_objects_is_one_step(
    alice, dataset, inputs, good_rows
):
    folder, gt, good, bad = inputs
    before = state()
    options = {
        "images": str(folder),
        "annotations": str(gt),
        "object_embeddings": str(good if good_rows else bad),
        "object_task": GT,
        "embed": "never",
    }
    job = import_job_start(dataset=dataset, user=alice, options=options, execute="inline")
    if good_rows:
        assert job.status == "succeeded", job.error
        assert job.summary["object_embeddings"] == {f"objects:{GT}": [3, 2]}
        assert Annotation.objects.filter(task__dataset=dataset).count() == 3
        assert EmbeddingSpace.all_spaces.get(dataset=dataset).task.name == GT
    else:
        assert job.status == "failed"
        assert job.error == (
            "bad.csv line 3: unknown annotation id 99 (the COCO file has no box with that id)."
        )
        assert state() == before


def test_a_server_import_with_object_embeddings_is_one_job(api, dataset, team, inputs, tmp_path):
    folder, gt, good, bad = inputs
    ImportRoot.objects.create(path=str(tmp_path.resolve()), name="here", group=team)
    url = f"/api/datasets/{dataset.pk}/import/"
    body = {"images": str(folder), "annotations": str(gt), "embed": "never"}
    before = state()
    refused = api("bob").post(url, {**body, "object_embeddings": str(good)})
    assert refused.status_code == 400 and refused.json()["path"] == "object_task"
    outside = api("bob").post(url, {**body, "object_embeddings": "/etc/passwd", "object_task": GT})
    assert outside.status_code == 400
    assert "outside the folders imports may read" in outside.json()["detail"]
    failed = run_job(
        api, "bob", api("bob").post(url, {**body, "object_embeddings": str(bad), "object_task": GT})
    )
    assert failed["status"] == "failed" and failed["error"].startswith("bad.csv line 3: ")
    assert state() == before
    job = run_job(
        api,
        "bob",
        api("bob").post(
            url,
            {
                **body,
                "object_embeddings": str(good),
                "object_task": GT,
                "object_embedding_name": "o",
            },
        ),
    )
    assert job["status"] == "succeeded", job
    assert job["summary"]["object_embeddings"] == {"o": [3, 2]}
    assert job["summary"]["annotations"] == {GT: 3}
    assert EmbeddingSpace.all_spaces.get(dataset=dataset, name="o").task.name == GT
    charlie = api("charlie").post(url, {**body, "object_embeddings": str(good), "object_task": GT})
    assert charlie.status_code == 404
