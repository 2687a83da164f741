"""The embedding-matrix readers alone (no database): .npy with its file names, Parquet, and the
checks ``read_embeddings`` adds; errors name the file and the line, row or item."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.formats.embeddings import (
    npy_header,
    read_embeddings,
    read_embeddings_npy,
    read_embeddings_parquet,
    read_file_name_list,
)
from curation.formats.records import IngestError
from tests.support.ingest import lightly_csv

NAMES = ["a.jpg", "b.jpg", "sub/c.jpg"]


def test_npy_reads_its_sidecar_names_and_converts_to_float32(tmp_path):
    matrix = np.arange(6, dtype=np.int64).reshape(3, 2)
    np.save(tmp_path / "e.npy", matrix)
    (tmp_path / "e.filenames.txt").write_text("\n".join(NAMES) + "\n\n")
    parsed = read_embeddings(tmp_path / "e.npy")
    assert parsed.source == "e.npy" and parsed.names == NAMES
    assert parsed.matrix.dtype == np.float32 and (parsed.matrix == matrix).all()
    assert npy_header(tmp_path / "e.npy") == ((3, 2), np.dtype(np.int64))


def test_npy_errors_name_the_row_and_the_value(tmp_path):
    matrix = np.ones((3, 2), dtype=np.float32)
    matrix[1, 1] = np.nan
    np.save(tmp_path / "e.npy", matrix)
    names = tmp_path / "names.json"
    names.write_text(json.dumps(NAMES))
    with pytest.raises(IngestError) as caught:
        read_embeddings_npy(tmp_path / "e.npy", names)
    assert str(caught.value) == (
        "Row 1, value 1 of e.npy is NaN or infinite: embeddings must be finite."
    )
    names.write_text(json.dumps(NAMES[:2]))
    with pytest.raises(IngestError) as caught:
        read_embeddings_npy(tmp_path / "e.npy", names)
    assert str(caught.value) == (
        "e.npy has 3 rows but names.json lists 2 file names: they must match one to one."
    )


def test_a_lying_npy_header_is_refused_before_anything_is_allocated(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((2, 2), dtype=np.float32))
    data = (tmp_path / "e.npy").read_bytes()
    (tmp_path / "e.npy").write_bytes(data[:-4])
    with pytest.raises(IngestError, match=r"^e\.npy declares 2 x 2 float32 values \(16 bytes\)"):
        npy_header(tmp_path / "e.npy")


def test_file_name_lists_name_the_line_or_item(tmp_path):
    text = tmp_path / "names.txt"
    text.write_text("a.jpg\n\nb.jpg\n")
    with pytest.raises(IngestError) as caught:
        read_file_name_list(text)
    assert str(caught.value) == "Line 2 of names.txt is empty: one file name a line."
    listed = tmp_path / "names.json"
    listed.write_text(json.dumps(["a.jpg", "/etc/passwd"]))
    with pytest.raises(IngestError, match=r"^Item 2 of names\.json: the file name '/etc/passwd' "):
        read_file_name_list(listed)
    np.save(tmp_path / "names.npy", np.array([" a.jpg ", "b.jpg"]))
    assert read_file_name_list(tmp_path / "names.npy") == ["a.jpg", "b.jpg"]


@pytest.mark.parametrize("layout", ["columns", "list"])
def test_parquet_with_embedding_columns_or_one_list_column(tmp_path, layout):
    matrix = np.arange(6, dtype=np.float32).reshape(3, 2)
    if layout == "columns":
        table = pa.table({"file_name": NAMES, **{f"embedding_{i}": matrix[:, i] for i in range(2)}})
    else:
        table = pa.table({"filename": NAMES, "vector": matrix.tolist(), "masked": [0, 1, 0]})
    pq.write_table(table, tmp_path / "e.parquet")
    parsed = read_embeddings_parquet(tmp_path / "e.parquet")
    assert parsed.names == NAMES and (parsed.matrix == matrix).all()
    if layout == "list":
        assert parsed.masked is not None and parsed.masked.tolist() == [False, True, False]


def test_parquet_errors_name_the_row(tmp_path):
    table = pa.table({"file_name": NAMES, "vector": [[1.0, 2.0], [1.0, 2.0], [1.0]]})
    pq.write_table(table, tmp_path / "e.parquet")
    with pytest.raises(IngestError) as caught:
        read_embeddings_parquet(tmp_path / "e.parquet")
    assert str(caught.value) == (
        "Row 3 of e.parquet has 1 values in vector but row 1 has 2 (dimension mismatch)."
    )


def test_read_embeddings_refuses_duplicates_and_unknown_suffixes(tmp_path):
    path = lightly_csv(tmp_path / "e.csv", ["a.jpg", "./a.jpg"], np.ones((2, 2)))
    with pytest.raises(IngestError) as caught:
        read_embeddings(path)
    assert str(caught.value) == (
        "e.csv lists './a.jpg' twice (lines 2 and 3): each file may appear once."
    )
    with pytest.raises(IngestError, match=r"^e\.txt is not an embeddings file Curation reads"):
        read_embeddings(tmp_path / "e.txt")
