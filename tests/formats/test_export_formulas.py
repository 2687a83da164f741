"""CSV exports neutralise formula cells (issue 10.4): a text cell starting with = + - @, a tab or
a carriage return gets a leading ' so a spreadsheet shows it instead of running it; numbers stay
numbers, even negative ones."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from curation.formats.export import spreadsheet_safe
from curation.models import Sample, Tag, TagSample
from curation.storage.embeddings import embedding_space_store
from curation.tags.export import tag_export

HOSTILE = {
    "note": '=HYPERLINK("http://evil.example","click")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(A1:A2)",
    "tab": "\tx",
    "cr": "\rx",
    "plain": "sunny",
    "delta": -0.5,
    "count": -3,
    "=evil_key": 1,
}


@pytest.fixture
def tag(dataset, alice) -> Tag:
    samples = Sample.objects.bulk_create(
        [
            Sample(dataset=dataset, file_name="-dash.jpg", metadata=HOSTILE),
            Sample(dataset=dataset, file_name="plain.jpg", metadata={"plain": "@home"}),
        ]
    )
    tag = Tag.objects.create(dataset=dataset, name="all", created_by=alice)
    TagSample.objects.bulk_create([TagSample(tag=tag, sample=s) for s in samples])
    return tag


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+x", "'+x"),
        ("-x", "'-x"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("x=1", "x=1"),
        ("", ""),
        ("'=x", "'=x"),
    ],
)
def test_spreadsheet_safe(text, safe):
    assert spreadsheet_safe(text) == safe


def test_the_csv_export_prefixes_formula_text_and_keeps_numbers(dataset, tag, tmp_path):
    output = tmp_path / "all.csv"
    tag_export(dataset=dataset, tag=tag, format="csv", output=output)
    with open(output, newline="") as handle:
        rows = list(csv.DictReader(handle))
    first = next(r for r in rows if r["file_name"] == "'-dash.jpg")
    assert first["note"] == '\'=HYPERLINK("http://evil.example","click")'
    assert first["plus"] == "'+1+cmd|' /C calc'!A0"
    assert first["minus"] == "'-2+3"
    assert first["at"] == "'@SUM(A1:A2)"
    assert first["tab"] == "'\tx"
    assert first["cr"] == "'\rx"
    assert first["plain"] == "sunny"
    assert first["delta"] == "-0.5" and first["count"] == "-3"  # numbers stay numbers
    assert first["'=evil_key"] == "1"  # a metadata key is a header cell: neutralised too
    second = next(r for r in rows if r["file_name"] == "plain.jpg")
    assert second["plain"] == "'@home"


def test_the_lightly_csv_export_prefixes_formula_file_names(dataset, tag, tmp_path):
    ids = np.array(sorted(tag.memberships.values_list("sample_id", flat=True)))
    embedding_space_store(
        dataset=dataset,
        name="default",
        matrix=np.array([[-0.5, 1.0], [0.25, -2.0]]),
        sample_ids=ids,
        normalize=False,
    )
    output = tmp_path / "all.csv"
    tag_export(dataset=dataset, tag=tag, format="lightly-csv", output=output)
    with open(output, newline="") as handle:
        rows = {r["filenames"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"'-dash.jpg", "plain.jpg"}
    assert float(rows["'-dash.jpg"]["embedding_0"]) == -0.5  # a number, not "'-0.5"
    assert float(rows["plain.jpg"]["embedding_1"]) == -2.0
