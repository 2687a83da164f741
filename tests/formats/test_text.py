"""Reading text side files alone: lines and CSV rows refused with the file and the line, cells
parsed as JSON values, text no database stores found."""

from __future__ import annotations

import io

import pytest

from curation.formats.records import IngestError
from curation.formats.text import csv_rows, flatten, parse_cell, text_lines, unstorable_text


def test_text_lines_drop_the_bom_and_refuse_bad_lines_by_number():
    assert list(text_lines(io.BytesIO(b"\xef\xbb\xbfa\r\nb"), "f.txt")) == ["a\r\n", "b"]
    with pytest.raises(IngestError) as caught:
        list(text_lines(io.BytesIO(b"ok\nbad \xff\n"), "f.txt"))
    assert str(caught.value) == "f.txt line 2 is not valid UTF-8: save the file as UTF-8 text."
    with pytest.raises(IngestError, match=r"^f\.txt line 1 contains a NUL character"):
        list(text_lines(io.BytesIO(b"a\x00b\n"), "f.txt"))


def test_csv_rows_number_their_lines_and_name_an_overlong_cell():
    rows = list(csv_rows(io.BytesIO(b'h1,h2\n"multi\nline",x\ny,z\n'), "f.csv"))
    assert rows == [(1, ["h1", "h2"]), (3, ["multi\nline", "x"]), (4, ["y", "z"])]
    with pytest.raises(IngestError) as caught:
        list(csv_rows(io.BytesIO(b'a,b\nx,"' + b"y" * 200_000 + b'"\n'), "f.csv"))
    assert str(caught.value) == (
        "f.csv line 2 has a value longer than 128 KB, the most a CSV cell may hold: check its "
        "quoting."
    )


def test_cells_flattening_and_unstorable_text():
    assert [parse_cell(c) for c in ["", " 7 ", "-2.5", "TRUE", "false", "x"]] == [
        None,
        7,
        -2.5,
        True,
        False,
        "x",
    ]
    with pytest.raises(ValueError, match=r"'inf' is not a finite number"):
        parse_cell("inf")
    assert flatten({"a": {"b": 1, "c": None}, "d": [1]}) == {"a.b": 1, "d": [1]}
    assert unstorable_text({"k": ["ok", "x\x00"]}) == "a NUL character (\\u0000)"
    assert unstorable_text({"k": "\ud800"}).startswith("an unpaired surrogate")
    assert unstorable_text({"k": ["fine"]}) is None
