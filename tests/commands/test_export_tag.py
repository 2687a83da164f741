"""``manage.py export_tag``: every format from the command line, and its errors."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from curation.imports.services import dataset_import
from curation.models import Sample
from curation.tags.services import tag_create
from tests.support.ingest import make_images, write_json


@pytest.fixture
def tagged(dataset, tmp_path):
    folder = make_images(tmp_path / "images", ["a.jpg", "b.jpg", "c.jpg"], size=(20, 10))
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 5]}],
    }
    dataset_import(
        dataset=dataset,
        images=folder,
        annotations=write_json(tmp_path / "gt.json", coco),
        workers=0,
    )
    ids = dict(Sample.objects.values_list("file_name", "id"))
    return tag_create(dataset=dataset, name="best", sample_ids=[ids["a.jpg"], ids["c.jpg"]])


def export(*args: str) -> str:
    out = StringIO()
    call_command("export_tag", *args, stdout=out)
    return out.getvalue()


def test_it_exports_file_names_and_copies_the_files(tagged, tmp_path):
    output = export(
        "cats", "best", "--format", "filenames", "--output", str(tmp_path / "o.txt"),
        "--copy-to", str(tmp_path / "copy"),
    )  # fmt: skip
    assert (tmp_path / "o.txt").read_text() == "a.jpg\nc.jpg\n"
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["a.jpg", "c.jpg"]
    assert "Exported 2 samples of 'best'" in output and "Copied 2 files." in output


def test_it_exports_coco_yolo_and_the_lightly_csv(tagged, tmp_path):
    export("cats", "best", "--format", "coco", "--output", str(tmp_path / "o.json"))
    document = json.loads((tmp_path / "o.json").read_text())
    assert [i["file_name"] for i in document["images"]] == ["a.jpg", "c.jpg"]
    assert document["annotations"][0]["bbox"] == [0.0, 0.0, 10.0, 5.0]
    export("cats", "best", "--format", "yolo", "--output", str(tmp_path / "y"))
    assert (tmp_path / "y" / "labels" / "a.txt").read_text() == (
        "0 0.250000 0.250000 0.500000 0.500000\n"
    )
    export("cats", "best", "--format", "lightly-csv", "--output", str(tmp_path / "l.csv"))
    lines = (tmp_path / "l.csv").read_text().splitlines()
    assert lines[0].startswith("filenames,embedding_0,")
    assert lines[0].endswith(",selected,labels")
    assert [line.split(",")[0] for line in lines[1:]] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [line.split(",")[-2] for line in lines[1:]] == ["1", "0", "1"]


def test_errors_are_one_line(tagged, tmp_path):
    with pytest.raises(CommandError, match=r"^error: no dataset named 'dogs'"):
        export("dogs", "best", "--output", str(tmp_path / "o"))
    with pytest.raises(CommandError, match=r"^error: dataset 'cats' has no tag 'worst'"):
        export("cats", "worst", "--output", str(tmp_path / "o"))
    with pytest.raises(CommandError, match=r"^error: cats has no embedding space 'clip'"):
        export(
            "cats", "best", "--format", "lightly-csv", "--embedding-name", "clip",
            "--output", str(tmp_path / "o"),
        )  # fmt: skip
