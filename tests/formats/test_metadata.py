"""The metadata reader alone (no database): typed CSV cells, flattened JSON Lines, refusals that
name the file and the line."""

from __future__ import annotations

import pytest

from curation.formats.metadata import read_metadata
from curation.formats.records import IngestError
from tests.support.ingest import write_csv


def test_csv_cells_keep_their_types_and_empty_cells_are_missing(tmp_path):
    path = write_csv(
        tmp_path / "m.csv",
        ["file_name", "count", "ratio", "ok", "note"],
        [["a.jpg", "3", "0.5", "true", "x"], ["b.jpg", "", "-1e3", "False", ""]],
    )
    parsed = read_metadata(path)
    assert parsed.source == "m.csv"
    assert parsed.rows == [
        ("a.jpg", {"count": 3, "ratio": 0.5, "ok": True, "note": "x"}, 2),
        ("b.jpg", {"ratio": -1000.0, "ok": False}, 3),
    ]


def test_jsonl_objects_flatten_to_dotted_keys(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"file_name": "a.jpg", "weather": {"description": "sunny"}}\n\n')
    assert read_metadata(path).rows == [("a.jpg", {"weather.description": "sunny"}, 1)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "file_name,v\na.jpg,1\nb.jpg,nan\n",
            "Line 3, column v of m.csv: 'nan' is not a finite "
            "number; metadata must be finite numbers, true/false or text.",
        ),
        (
            "file_name,v\na.jpg,1\na.jpg,2\n",
            "m.csv lists 'a.jpg' twice (lines 2 and 3): each file may appear once.",
        ),
        (
            "file_name,v\na.jpg,1,2\n",
            "Line 2 of m.csv has 3 values but the header names 2 columns.",
        ),
    ],
)
def test_csv_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(IngestError) as caught:
        read_metadata(path)
    assert str(caught.value) == message


def test_reserved_keys_are_refused_with_their_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"file_name": "a.jpg", "v": 1}\n{"file_name": "b.jpg", "lightly.width": 3}\n')
    with pytest.raises(IngestError) as caught:
        read_metadata(path)
    assert str(caught.value) == (
        "Line 2 of m.jsonl sets 'lightly.width': keys starting with 'lightly.' are computed "
        "from the pixels; rename the column."
    )
    path.write_text('{"file_name": "a.jpg", "brightness": 1}\n')
    assert read_metadata(path).rows == [("a.jpg", {"brightness": 1}, 1)]
    with pytest.raises(IngestError, match=r"^Line 1 of m\.jsonl sets 'brightness'"):
        read_metadata(path, reserved_keys={"brightness"})


def test_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"file_name": "a.jpg"}\n{"name": "b.jpg"}\n')
    with pytest.raises(IngestError) as caught:
        read_metadata(path)
    assert str(caught.value) == (
        'Line 2 of m.jsonl has no file_name: every object needs a "file_name" key with the '
        "image path."
    )
    with pytest.raises(IngestError, match=r"^m\.txt is not a metadata file Curation reads"):
        read_metadata(tmp_path / "m.txt")
