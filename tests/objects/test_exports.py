"""Exports of an objects tag: COCO with only the selected objects, objects CSV, crops."""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from curation.formats.export import ExportError
from curation.models import Annotation, Tag
from curation.runs.services import selection_run_start
from curation.tags.export import tag_export, tag_export_download
from tests.support.objects import TASK, object_space, populate_objects, write_pixels


@pytest.fixture
def picked(dataset, alice, tmp_path):
    _, task, ann_ids = populate_objects(dataset, images=6, per_image=2)
    object_space(dataset, task, ann_ids)
    write_pixels(tmp_path / "img", dataset)
    dataset.image_root = str(tmp_path / "img")
    dataset.save()
    config = {
        "n_samples": 4,
        "strategies": [
            {"input": {"type": "EMBEDDINGS", "task": TASK}, "strategy": {"type": "DIVERSITY"}}
        ],
    }
    selection_run_start(
        dataset=dataset, config=config, result_tag_name="p", user=alice, execute="inline"
    )
    tag = Tag.objects.get(dataset=dataset, name="p-objects")
    order = list(tag.object_memberships.order_by("rank").values_list("annotation_id", flat=True))
    return tag, order


def test_coco_holds_only_the_selected_objects(dataset, picked, tmp_path):
    tag, order = picked
    tag_export(dataset=dataset, tag=tag, format="coco", output=tmp_path / "o.json")
    document = json.loads((tmp_path / "o.json").read_text())
    assert len(document["annotations"]) == 4
    parents = {Annotation.objects.get(pk=a).sample.file_name for a in order}
    assert {i["file_name"] for i in document["images"]} == parents


def test_objects_csv_lists_the_objects_in_pick_order(dataset, picked, tmp_path):
    tag, order = picked
    tag_export(dataset=dataset, tag=tag, format="objects-csv", output=tmp_path / "o.csv")
    rows = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert [int(r["annotation_id"]) for r in rows] == order
    assert rows[0]["task"] == TASK and rows[0]["rank"] == "0"


def test_objects_csv_cells_are_never_spreadsheet_formulas(dataset, picked, tmp_path):
    tag, order = picked
    first = Annotation.objects.get(pk=order[0])
    Annotation.objects.filter(pk=first.pk).update(label='=HYPERLINK("http://x")')
    first.sample.__class__.objects.filter(pk=first.sample_id).update(file_name="@cmd.png")
    tag_export(dataset=dataset, tag=tag, format="objects-csv", output=tmp_path / "o.csv")
    rows = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert rows[0]["label"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["file_name"] == "'@cmd.png"
    assert rows[1]["label"] == Annotation.objects.get(pk=order[1]).label  # others untouched
    assert float(rows[0]["x"]) == first.x  # numbers stay numbers


def test_crops_are_the_box_pixels(dataset, picked, tmp_path):
    tag, order = picked
    download = tag_export_download(
        dataset=dataset, tag=tag, format="object-crops", filename_stem="crops"
    )
    with zipfile.ZipFile(download.handle) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".png"))
        assert len(names) == 4
        first = Annotation.objects.select_related("sample").get(pk=order[0])
        assert names[0].startswith(f"000000_{order[0]}_")
        with archive.open(names[0]) as handle:
            crop = np.asarray(Image.open(handle).convert("RGB"))
    with Image.open(tmp_path / "img" / first.sample.file_name) as image:
        full = np.asarray(image.convert("RGB"))
    x, y, w, h = (int(v) for v in (first.x, first.y, first.w, first.h))
    assert np.array_equal(crop, full[y : y + h, x : x + w])


def test_object_formats_need_an_objects_tag(dataset, picked, tmp_path):
    images = Tag.objects.get(dataset=dataset, name="p")
    with pytest.raises(ExportError) as caught:
        tag_export(dataset=dataset, tag=images, format="objects-csv", output=tmp_path / "x.csv")
    assert str(caught.value) == "objects-csv exports an objects tag (of an object-level selection)."
