"""Custom metadata from CSV and JSON Lines: types kept, nested keys dotted, errors located."""

from __future__ import annotations

import json

import pytest

from curation.imports.services import IngestError, dataset_import
from curation.models import Sample
from tests.support.ingest import assert_nothing_written, make_images, write_csv

NAMES = ["a.jpg", "b.jpg", "sub/c.jpg"]


@pytest.fixture
def folder(tmp_path):
    return make_images(tmp_path / "images", NAMES)


def metadata_of(name: str) -> dict:
    return Sample.objects.get(file_name=name).metadata


def test_csv_cells_keep_their_types_and_empty_cells_are_missing(dataset, folder, tmp_path):
    path = write_csv(
        tmp_path / "meta.csv",
        ["file_name", "weather.description", "count", "speed", "night", "code"],
        [
            ["a.jpg", "sunny", "3", "1.5", "true", "007x"],
            ["sub/c.jpg", "", "-2", "1e3", "FALSE", ""],
        ],
    )
    summary = dataset_import(dataset=dataset, images=folder, metadata=path, workers=0)

    assert summary.metadata_rows == 2
    a = metadata_of("a.jpg")
    assert {k: a[k] for k in ("weather.description", "count", "speed", "night", "code")} == {
        "weather.description": "sunny",
        "count": 3,
        "speed": 1.5,
        "night": True,
        "code": "007x",
    }
    assert type(a["count"]) is int and type(a["night"]) is bool
    c = metadata_of("sub/c.jpg")
    assert "weather.description" not in c and "code" not in c
    assert (c["count"], c["speed"], c["night"]) == (-2, 1000.0, False)
    assert "lightly.sharpness" in c  # built-in keys stay
    assert not any(k in metadata_of("b.jpg") for k in ("count", "night"))


@pytest.mark.parametrize("column", ["file_name", "filename", "filenames"])
def test_the_file_name_column_may_have_any_accepted_name(dataset, folder, tmp_path, column):
    path = write_csv(tmp_path / "m.csv", [column, "split"], [["b.jpg", "train"]])
    dataset_import(dataset=dataset, images=folder, metadata=path, workers=0)
    assert metadata_of("b.jpg")["split"] == "train"


def test_jsonl_objects_flatten_to_dotted_keys(dataset, folder, tmp_path):
    path = tmp_path / "meta.jsonl"
    lines = [
        {"file_name": "a.jpg", "weather": {"description": "rain", "temp": {"c": 12.5}}},
        {"file_name": "b.jpg", "ok": False, "n": 4, "tags": ["x", "y"], "gone": None},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    dataset_import(dataset=dataset, images=folder, metadata=path, workers=0)
    a = metadata_of("a.jpg")
    assert (a["weather.description"], a["weather.temp.c"]) == ("rain", 12.5)
    b = metadata_of("b.jpg")
    assert (b["ok"], b["n"], b["tags"]) == (False, 4, ["x", "y"])
    assert "gone" not in b


def test_metadata_merges_into_existing_samples_and_reimport_overwrites_keys(
    dataset, folder, tmp_path
):
    dataset_import(dataset=dataset, images=folder, workers=0, embed="never")
    first = write_csv(tmp_path / "1.csv", ["file_name", "split", "x"], [["a.jpg", "train", "1"]])
    dataset_import(dataset=dataset, metadata=first)
    second = write_csv(tmp_path / "2.csv", ["file_name", "split"], [["a.jpg", "val"]])
    dataset_import(dataset=dataset, metadata=second)
    a = metadata_of("a.jpg")
    assert (a["split"], a["x"]) == ("val", 1)
    assert "lightly.sharpness" in a


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["a.jpg", "1"], ["nope.jpg", "2"]], "1 file name(s) in meta.csv match no image"),
        ([["a.jpg", "1"], ["a.jpg", "2"]], "lists 'a.jpg' twice (lines 2 and 3)"),
        ([["a.jpg", "nan"]], "Line 2, column score of meta.csv: 'nan' is not a finite number"),
        ([["a.jpg", "1", "extra"]], "Line 2 of meta.csv has 3 values but the header names 2"),
        ([["", "1"]], "The file name is empty at line 2 of meta.csv"),
    ],
)
def test_csv_errors_name_the_place_and_write_nothing(dataset, folder, tmp_path, rows, message):
    path = write_csv(tmp_path / "meta.csv", ["file_name", "score"], rows)
    with pytest.raises(IngestError) as error:
        dataset_import(dataset=dataset, images=folder, metadata=path, workers=0)
    assert message in str(error.value)
    assert_nothing_written(dataset)


def test_builtin_keys_cannot_be_overwritten(dataset, folder, tmp_path):
    path = write_csv(tmp_path / "meta.csv", ["file_name", "lightly.sharpness"], [["a.jpg", "9"]])
    with pytest.raises(IngestError, match=r"sets 'lightly.sharpness'"):
        dataset_import(dataset=dataset, images=folder, metadata=path)
    assert_nothing_written(dataset)


def test_a_csv_without_a_file_name_column_is_refused(dataset, folder, tmp_path):
    path = write_csv(tmp_path / "meta.csv", ["image", "score"], [["a.jpg", "1"]])
    with pytest.raises(IngestError, match=r"has no file-name column"):
        dataset_import(dataset=dataset, images=folder, metadata=path)
    assert_nothing_written(dataset)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"file_name": "a.jpg"}\n{"file_name": "b.jpg", "x": 1,}\n',
            "Line 2 of meta.jsonl is not",
        ),
        ('{"file_name": "a.jpg", "x": NaN}\n', "Line 1 of meta.jsonl is not valid JSON"),
        ('{"name": "a.jpg"}\n', "Line 1 of meta.jsonl has no file_name"),
        ("[1, 2]\n", "Line 1 of meta.jsonl must be a JSON object"),
    ],
)
def test_jsonl_errors_name_the_line(dataset, folder, tmp_path, text, message):
    path = tmp_path / "meta.jsonl"
    path.write_text(text)
    with pytest.raises(IngestError) as error:
        dataset_import(dataset=dataset, images=folder, metadata=path)
    assert message in str(error.value)
    assert_nothing_written(dataset)
