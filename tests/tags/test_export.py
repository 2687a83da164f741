"""Exports of a tag: file names, CSV, COCO and YOLO (round trips), the Lightly CSV with
``selected``, and copying or linking the files."""

from __future__ import annotations

import csv
import json
import os

import pytest

from curation.imports.services import dataset_import
from curation.models import Annotation, Dataset, EmbeddingSpace, Sample, Tag
from curation.storage.embeddings import embedding_space_load
from curation.tags.export import ExportError, tag_export
from curation.tags.services import tag_create
from tests.support.exports import COCO


def coco_view(document: dict) -> tuple:
    """What must survive a round trip: file names, category names, boxes per file."""
    files = {image["id"]: image["file_name"] for image in document["images"]}
    names = {c["id"]: c["name"] for c in document["categories"]}
    boxes = sorted(
        (files[a["image_id"]], names[a["category_id"]], tuple(a["bbox"]))
        for a in document["annotations"]
    )
    return sorted(files.values()), sorted(names.values()), boxes


def test_filenames_lists_the_tagged_files(dataset, loaded, tmp_path):
    summary = tag_export(dataset=dataset, tag=loaded, format="filenames", output=tmp_path / "o.txt")
    assert (tmp_path / "o.txt").read_text().splitlines() == ["a.jpg", "b.jpg", "sub/c.jpg"]
    assert summary.samples == 3


def test_csv_holds_metadata_annotations_and_scores(dataset, loaded, tmp_path):
    tag_export(dataset=dataset, tag=loaded, format="csv", output=tmp_path / "o.csv")
    with open(tmp_path / "o.csv", newline="") as handle:
        rows = {row["file_name"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == ["a.jpg", "b.jpg", "sub/c.jpg"]
    a = rows["a.jpg"]
    assert (a["width"], a["height"], a["split"], a["n"]) == ("100", "50", "train", "3")
    assert float(a["lightly.sharpness"]) > 0
    assert json.loads(a["ground_truth.boxes"]) == [
        ["cat", 1.0, 2.0, 30.0, 20.0, None],
        ["dog", 50.0, 5.0, 10.0, 10.0, None],
    ]
    assert rows["b.jpg"]["split"] == "" and json.loads(rows["b.jpg"]["ground_truth.boxes"]) == []


def test_coco_round_trip(dataset, loaded, alice, tmp_path):
    output = tmp_path / "out.json"
    tag_export(dataset=dataset, tag=loaded, format="coco", output=output)
    exported = json.loads(output.read_text())
    assert coco_view(exported) == coco_view(COCO)
    assert exported["categories"][:2] == [
        {"id": 1, "name": "cat", "supercategory": ""},
        {"id": 2, "name": "dog", "supercategory": ""},
    ]
    # Same ids when exported again; importing the export elsewhere gives the same annotations.
    tag_export(dataset=dataset, tag=loaded, format="coco", output=tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == exported
    copy = Dataset.objects.create(name="copy", owner=alice)
    dataset_import(dataset=copy, images=tmp_path / "images", annotations=output, workers=0)
    view = sorted(
        Annotation.objects.filter(sample__dataset=copy).values_list(
            "sample__file_name", "label", "x", "y", "w", "h"
        )
    )
    original = sorted(
        Annotation.objects.filter(sample__dataset=dataset).values_list(
            "sample__file_name", "label", "x", "y", "w", "h"
        )
    )
    assert view == original


def test_yolo_round_trip(dataset, loaded, alice, tmp_path):
    out = tmp_path / "yolo"
    tag_export(dataset=dataset, tag=loaded, format="yolo", output=out)
    assert (out / "labels" / "sub" / "c.txt").read_text() == (
        "1 0.300000 0.650000 0.400000 0.500000\n"
    )
    assert (out / "labels" / "b.txt").read_text() == ""
    assert "names:\n  0: cat\n  1: dog\n" in (out / "data.yaml").read_text()
    copy = Dataset.objects.create(name="copy", owner=alice)
    dataset_import(dataset=copy, images=tmp_path / "images", annotations=out, workers=0)
    got = sorted(
        Annotation.objects.filter(sample__dataset=copy).values_list(
            "sample__file_name", "label", "x", "y", "w", "h"
        )
    )
    want = sorted(
        Annotation.objects.filter(sample__dataset=dataset).values_list(
            "sample__file_name", "label", "x", "y", "w", "h"
        )
    )
    assert [row[:2] for row in got] == [row[:2] for row in want]
    for row, expected in zip(got, want, strict=True):
        assert row[2:] == pytest.approx(expected[2:], abs=1e-3)


def test_lightly_csv_marks_the_tag_as_selected_and_round_trips(dataset, loaded, alice, tmp_path):
    output = tmp_path / "lightly.csv"
    tag_export(dataset=dataset, tag=loaded, format="lightly-csv", output=output)
    with open(output, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "filenames",
        "embedding_0",
        "embedding_1",
        "embedding_2",
        "selected",
        "labels",
    ]
    assert {r["filenames"]: r["selected"] for r in rows} == {
        "a.jpg": "1",
        "b.jpg": "1",
        "sub/c.jpg": "1",
        "d.jpg": "0",
    }
    copy = Dataset.objects.create(name="copy", owner=alice)
    dataset_import(
        dataset=copy,
        images=tmp_path / "images",
        embeddings=output,
        normalize_embeddings=False,
        workers=0,
    )
    selected = Tag.objects.get(dataset=copy, name="selected")
    assert sorted(selected.samples.values_list("file_name", flat=True)) == [
        "a.jpg",
        "b.jpg",
        "sub/c.jpg",
    ]

    def vectors(ds):
        loaded_space = embedding_space_load(EmbeddingSpace.objects.get(dataset=ds))
        names = dict(Sample.objects.filter(dataset=ds).values_list("id", "file_name"))
        return {
            names[int(i)]: list(r)
            for i, r in zip(loaded_space.sample_ids, loaded_space.matrix, strict=True)
        }

    assert vectors(copy) == vectors(dataset)  # float32 written and read back exactly


def test_lightly_csv_needs_an_embedding_space(dataset, folder, tmp_path):
    dataset_import(dataset=dataset, images=folder, workers=0, embed="never")
    tag = tag_create(dataset=dataset, name="t", sample_ids=[])
    with pytest.raises(ExportError, match=r"has no embeddings"):
        tag_export(dataset=dataset, tag=tag, format="lightly-csv", output=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("mode", ["copy", "symlink"])
def test_the_tagged_files_can_be_copied_or_linked(dataset, loaded, tmp_path, mode):
    target = tmp_path / "picked"
    summary = tag_export(
        dataset=dataset,
        tag=loaded,
        format="filenames",
        output=tmp_path / "o.txt",
        **{f"{mode}_to": target},
    )
    assert summary.files_copied == 3
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.jpg"))
    assert files == ["a.jpg", "b.jpg", "sub/c.jpg"]
    assert os.path.islink(target / "sub" / "c.jpg") == (mode == "symlink")
    assert (target / "a.jpg").read_bytes() == (tmp_path / "images" / "a.jpg").read_bytes()


def test_coco_of_an_unknown_task_is_refused(dataset, loaded, tmp_path):
    with pytest.raises(ExportError, match=r"has no task 'nope'"):
        tag_export(dataset=dataset, tag=loaded, format="coco", output=tmp_path / "o", task="nope")
