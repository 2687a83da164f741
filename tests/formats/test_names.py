"""File names from side files alone: checked and normalised, found in a header, listed once,
and kept inside the folder a folder import reads."""

from __future__ import annotations

import itertools

import pytest

from curation.formats.names import (
    _normalize_slowly,
    check_duplicates,
    check_file_name,
    check_inside,
    find_file_name_column,
    names_sample,
    normalize_file_name,
)
from curation.formats.records import IngestError


def test_the_fast_path_of_file_name_normalisation_changes_nothing():
    alphabet = ["a", ".", "/", "\\", " ", "\t", "\u00a0"]
    for length in range(6):
        for letters in itertools.product(alphabet, repeat=length):
            name = "".join(letters)
            assert normalize_file_name(name) == _normalize_slowly(name), repr(name)
    assert normalize_file_name("seq_001/frame_0000001.jpg") == "seq_001/frame_0000001.jpg"
    assert normalize_file_name(" ./a\\b/../c.jpg ") == "a/c.jpg"


def test_unsafe_names_are_refused_naming_where_they_were_found():
    assert check_file_name("sub/a.jpg", "Line 2 of m.csv") == "sub/a.jpg"
    with pytest.raises(IngestError) as caught:
        check_file_name("../a.jpg", "Line 7 of m.csv")
    assert str(caught.value).startswith("Line 7 of m.csv: the file name '../a.jpg' ")
    assert str(caught.value).endswith(
        "; file names must be relative paths inside the dataset's folder."
    )


def test_columns_duplicates_and_samples_of_names():
    assert find_file_name_column(["x", "filename", "file_name"], "m.csv") == "file_name"
    with pytest.raises(IngestError) as caught:
        find_file_name_column(["x", "y"], "m.csv")
    assert str(caught.value) == (
        "m.csv has no file-name column: name one of its columns file_name or filename or "
        "filenames (found x, y)."
    )
    with pytest.raises(IngestError) as caught:
        check_duplicates(["a.jpg", "b.jpg", "./a.jpg"], "e.csv")
    assert str(caught.value) == (
        "e.csv lists './a.jpg' twice (lines 2 and 4): each file may appear once."
    )
    assert names_sample(str(i) for i in range(7)) == "0, 1, 2, 3, 4 (and 2 more)"


def test_check_inside_refuses_a_symlink_leading_out_of_the_folder(tmp_path):
    folder = tmp_path / "yolo"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    check_inside(folder, folder / "data.yaml")  # missing but inside: fine
    with pytest.raises(IngestError) as caught:
        check_inside(folder, folder / "link.txt")
    assert str(caught.value) == (
        "link.txt leads outside yolo (through a symlink or '..'): keep the files inside the folder."
    )
