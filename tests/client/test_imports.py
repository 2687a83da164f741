"""``add_images_from_path`` against a live ``manage.py serve``: in place below an import root,
in place anywhere for the local admin in embedded mode only, resumable all-or-nothing uploads,
and the ``embed`` option on both paths; ``add_predictions``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import curation.client as cur
from curation.client import uploads
from tests.support.client import LiveServer, make_images


def record_paths(connection: cur.Connection) -> list[str]:
    """The URL paths of every request ``connection`` sends from now on."""
    paths: list[str] = []

    def hook(request: httpx.Request) -> None:
        paths.append(request.url.path)

    connection.http.event_hooks["request"] = [hook]
    return paths


def spaces(dataset: cur.ImageDataset) -> list[str]:
    return [s["name"] for s in dataset.connection.pages(f"datasets/{dataset.id}/embeddings/")]


def test_a_folder_below_an_import_root_is_imported_in_place(
    live: LiveServer, alice: cur.Connection, unique: str
) -> None:
    folder = live.import_root / unique
    names = make_images(folder, 6)
    dataset = cur.ImageDataset.create(unique)
    paths = record_paths(alice)
    summary = dataset.add_images_from_path(folder, embed=False, show_progress=False)
    assert summary["images_added"] == 6
    assert not any("/uploads/" in p for p in paths)  # nothing was sent
    assert any(p.endswith("/import/") for p in paths)
    assert dataset.image_root == str(folder.resolve())
    assert [s.file_name for s in dataset.query()] == names
    assert dataset[0].file_path_abs == str(folder.resolve() / names[0])
    assert spaces(dataset) == []  # embed=False reached the in-place import
    more = make_images(folder, 2, start=6)
    summary = dataset.add_images_from_path(folder, show_progress=False)  # embed: auto
    assert summary["images_added"] == 2 and summary["images_skipped"] == 6
    assert [s.file_name for s in dataset.query()] == names + more
    assert spaces(dataset) == ["builtin"]


def test_the_local_admin_imports_any_folder_in_place_in_embedded_mode_only(
    live: LiveServer, unique: str, tmp_path: Path
) -> None:
    connection = live.connect("admin")
    folder = tmp_path / "anywhere"  # below no import root
    make_images(folder, 4)
    dataset = cur.ImageDataset.create(unique)
    paths = record_paths(connection)
    summary = dataset.add_images_from_path(folder, embed=False, show_progress=False)
    assert summary["images_added"] == 4 and len(dataset) == 4
    uploaded = any("/uploads/" in p for p in paths)
    if live.embedded:  # make run: the admin on this machine, any readable folder
        assert not uploaded and dataset.image_root == str(folder.resolve())
    else:  # team mode never reads outside the import roots: the files were uploaded
        assert uploaded and dataset.image_root != str(folder.resolve())
    assert spaces(dataset) == []


def test_others_upload_what_lies_outside_their_roots(
    alice: cur.Connection, unique: str, tmp_path: Path
) -> None:
    dataset = cur.ImageDataset.create(unique)
    make_images(tmp_path / "mine", 3)
    with pytest.raises(cur.BadRequestError, match="outside the folders imports may read"):
        dataset.add_images_from_path(tmp_path / "mine", upload=False)
    paths = record_paths(alice)
    dataset.add_images_from_path(tmp_path / "mine", show_progress=False)
    assert any(p.endswith("/commit/") for p in paths) and len(dataset) == 3
    assert dataset.image_root.endswith(f"/datasets/{dataset.id}/upload/images")


def test_a_dataset_reading_a_server_folder_refuses_other_folders(
    live: LiveServer, alice: cur.Connection, unique: str, tmp_path: Path
) -> None:
    dataset = cur.ImageDataset.create(unique)
    make_images(live.import_root / unique, 2)
    dataset.add_images_from_path(live.import_root / unique, embed=False, show_progress=False)
    make_images(tmp_path / "other", 2)
    paths = record_paths(alice)
    with pytest.raises(cur.BadRequestError, match="reads its images from a server folder"):
        dataset.add_images_from_path(tmp_path / "other", show_progress=False)
    assert not any(p.endswith("/files/") for p in paths)  # refused before any upload
    assert len(dataset) == 2


@pytest.fixture
def recorded_batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The names of every batch the client uploads (5 files a batch)."""
    sent: list[list[str]] = []
    real = uploads._batches

    def recording(todo: list[tuple[str, Path]]) -> Iterator[list[tuple[str, Path]]]:
        for batch in real(todo):
            sent.append([name for name, _ in batch])
            yield batch

    monkeypatch.setattr(uploads, "BATCH_FILES", 5)
    monkeypatch.setattr(uploads, "_batches", recording)
    return sent


def test_an_interrupted_upload_resumes_with_only_the_missing_files(
    alice: cur.Connection, unique: str, tmp_path: Path, recorded_batches: list[list[str]]
) -> None:
    folder = tmp_path / "photos"
    names = make_images(folder / "day1", 12) + make_images(folder / "day2", 6, start=12)
    names = [f"day1/{n}" for n in names[:12]] + [f"day2/{n}" for n in names[12:]]
    dataset = cur.ImageDataset.create(unique)

    def interrupt(request: httpx.Request) -> None:
        if request.url.path.endswith("/files/") and len(recorded_batches) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third batch is being sent

    alice.http.event_hooks["request"] = [interrupt]
    with pytest.raises(KeyboardInterrupt):
        dataset.add_images_from_path(folder, show_progress=False)
    alice.http.event_hooks["request"] = []
    assert len(dataset) == 0  # nothing is imported before the commit
    key = uploads.session_key(dataset.id, folder)
    base = f"datasets/{dataset.id}/uploads/"
    assert sorted(alice.post(base, json={"key": key})["files"]) == names[:10]
    # One more file through the lower-level API, as another client process might have sent it.
    with open(folder / names[17], "rb") as handle:
        alice.request(
            "POST",
            f"{base}{key}/files/",
            files=[("file", ("x.png", handle))],
            data={"names": json.dumps([names[17]])},
        )
    recorded_batches.clear()
    summary = dataset.add_images_from_path(folder, embed=False, show_progress=False)
    assert [n for batch in recorded_batches for n in batch] == names[10:17]  # only the missing
    assert summary["images_added"] == 18 and summary["images_failed"] == []
    assert [s.file_name for s in dataset.query()] == names
    with pytest.raises(cur.BadRequestError, match="No upload session"):
        alice.get(f"{base}{key}/")  # committed sessions are gone


def test_a_cancelled_import_leaves_the_dataset_unchanged_and_the_next_call_completes(
    alice: cur.Connection, unique: str, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    names = make_images(folder, 40)
    dataset = cur.ImageDataset.create(unique)

    jobs: list[int] = []

    def ctrl_c(request: httpx.Request) -> None:
        if request.method == "GET" and request.url.path.startswith("/api/jobs/"):
            jobs.append(int(request.url.path.rstrip("/").rsplit("/", 1)[1]))
            raise KeyboardInterrupt  # Ctrl-C while waiting for the import job

    alice.http.event_hooks["request"] = [ctrl_c]
    with pytest.raises(KeyboardInterrupt):
        dataset.add_images_from_path(folder, embed=False, show_progress=False)
    alice.http.event_hooks["request"] = []
    with pytest.raises(cur.JobFailedError, match=r"^Cancelled.*nothing was imported") as failed:
        cur.Job(alice, jobs[0]).wait(show_progress=False)  # Job.wait cancelled it on Ctrl-C
    assert failed.value.status_text == "cancelled"
    assert len(dataset) == 0
    summary = dataset.add_images_from_path(folder, embed=False, show_progress=False)
    assert summary["images_added"] == 40
    assert [s.file_name for s in dataset.query()] == names


def test_add_predictions_and_annotations(
    alice: cur.Connection, unique: str, tmp_path: Path
) -> None:
    names = make_images(tmp_path / "imgs", 3)
    dataset = cur.ImageDataset.create(unique)
    dataset.add_images_from_path(tmp_path / "imgs", embed=False, show_progress=False)
    images = [{"id": i, "file_name": n, "width": 32, "height": 24} for i, n in enumerate(names)]
    categories = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    boxes = [
        {"id": 1, "image_id": 0, "category_id": 1, "bbox": [1, 2, 10, 8]},
        {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 5, 5]},
    ]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"images": images, "categories": categories, "annotations": boxes}))
    assert dataset.add_annotations_coco(gt, show_progress=False)["annotations"] == {
        "ground_truth": 2
    }
    results = tmp_path / "detector.json"
    results.write_text(
        json.dumps(
            [
                {"image_id": 0, "category_id": 2, "bbox": [1, 1, 4, 4], "score": 0.9},
                {"image_id": 1, "category_id": 1, "bbox": [2, 2, 3, 3], "score": 0.25},
            ]
        )
    )
    summary = dataset.add_predictions(results, coco_reference=gt, show_progress=False)
    assert summary["annotations"] == {"detector": 2}
    first, second, third = dataset.query().to_list()
    by_task = sorted((a["task"], a["kind"], a["label"], a["score"]) for a in first.annotations)
    assert by_task[0][:3] == ("detector", "detection", "dog") and by_task[0][3] == 0.9
    assert by_task[1][:3] == ("ground_truth", "detection", "cat")
    assert [a["bbox"] for a in first.annotations if a["task"] == "ground_truth"] == [
        [1.0, 2.0, 10.0, 8.0]
    ]
    assert [(a["task"], a["label"]) for a in second.annotations] == [("detector", "cat")]
    assert [(a["task"], a["label"]) for a in third.annotations] == [("ground_truth", "dog")]
    named = tmp_path / "preds.json"
    named.write_text(gt.read_text().replace('"bbox"', '"score": 0.5, "bbox"'))
    assert dataset.add_predictions(named, task="yolo", show_progress=False)["annotations"] == {
        "yolo": 2
    }
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(cur.JobFailedError, match=r"^bad\.json"):
        dataset.add_predictions(bad, show_progress=False)
    assert {a["task"] for s in dataset.query() for a in s.annotations} == {
        "detector",
        "ground_truth",
        "yolo",
    }
