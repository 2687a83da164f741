"""The Lightly readers alone (no database): prediction folders and the embeddings CSV, errors
that name the file and the JSON path or the line and column."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from curation.formats.lightly import (
    read_embeddings_csv,
    read_lightly_predictions,
    read_lightly_task,
    row_major,
)
from curation.formats.records import AnnotationRecord, IngestError
from tests.support.ingest import lightly_csv, write_json

SCHEMA = {
    "task_type": "classification",
    "categories": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}],
}


def test_a_predictions_folder_reads_every_task(tmp_path):
    write_json(tmp_path / "cls" / "schema.json", SCHEMA)
    write_json(
        tmp_path / "cls" / "a.json",
        {"file_name": "a.jpg", "predictions": [{"probabilities": [0.25, 0.75]}]},
    )
    detection = {**SCHEMA, "task_type": "object-detection"}
    write_json(tmp_path / "det" / "schema.json", detection)
    write_json(
        tmp_path / "det" / "sub" / "b.json",
        {
            "file_name": "sub/b.jpg",
            "predictions": [{"category_id": 0, "bbox": [1, 2, 3, 4], "score": 0.5}],
        },
    )
    cls, det = read_lightly_predictions(tmp_path)
    assert (cls.name, cls.kind, cls.is_prediction) == ("cls", "classification", True)
    assert cls.by_name == {
        "a.jpg": [AnnotationRecord("dog", score=0.75, probabilities=[0.25, 0.75])]
    }
    assert (det.name, det.kind) == ("det", "detection")
    assert det.by_name == {"sub/b.jpg": [AnnotationRecord("cat", 1.0, 2.0, 3.0, 4.0, score=0.5)]}


def test_prediction_errors_name_the_file_and_the_json_path(tmp_path):
    write_json(tmp_path / "cls" / "schema.json", SCHEMA)
    write_json(
        tmp_path / "cls" / "a.json",
        {"file_name": "a.jpg", "predictions": [{"probabilities": [0.2, 0.3, 0.5]}]},
    )
    with pytest.raises(IngestError) as caught:
        read_lightly_task(tmp_path / "cls", task_name="cls")
    assert str(caught.value) == (
        "predictions[0] of cls/a.json has 3 probabilities but the schema names 2 categories "
        "(dimension mismatch)."
    )


def test_an_unsafe_file_name_in_a_prediction_is_refused(tmp_path):
    write_json(tmp_path / "cls" / "schema.json", SCHEMA)
    write_json(tmp_path / "cls" / "a.json", {"file_name": "../a.jpg", "predictions": []})
    with pytest.raises(IngestError, match=r"^cls/a\.json: the file name '\.\./a\.jpg' "):
        read_lightly_task(tmp_path / "cls", task_name="cls")


def test_the_embeddings_csv_gives_names_vectors_flags_and_labels(tmp_path):
    matrix = np.arange(6, dtype=np.float32).reshape(3, 2)
    path = lightly_csv(
        tmp_path / "e.csv",
        ["a.jpg", "b.jpg", "sub/c.jpg"],
        matrix,
        labels=["1", "", "2"],
        masked=[0, 1, 0],
        selected=[1, 1, 0],
    )
    parsed = read_embeddings_csv(path)
    assert parsed.source == "e.csv"
    assert parsed.names == ["a.jpg", "b.jpg", "sub/c.jpg"]
    assert parsed.matrix.dtype == np.float32 and (parsed.matrix == matrix).all()
    assert parsed.masked is not None and parsed.masked.tolist() == [False, True, False]
    assert parsed.selected is not None and parsed.selected.tolist() == [True, True, False]
    assert parsed.labels == ["1", None, "2"]


def test_a_bad_embeddings_cell_names_its_line_and_column(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("filenames,embedding_0,embedding_1\na.jpg,1,2\nb.jpg,3,x\n")
    with pytest.raises(IngestError) as caught:
        read_embeddings_csv(path)
    assert str(caught.value) == "'x' at line 3, column embedding_1 of e.csv is not a number."
    path.write_text("filenames,embedding_0,embedding_2\na.jpg,1,2\n")
    with pytest.raises(IngestError) as caught:
        read_embeddings_csv(path)
    assert str(caught.value) == (
        "e.csv skips column embedding_1: columns must run embedding_0 .. embedding_2 without gaps."
    )


def test_the_csv_matrix_is_assembled_row_major_across_parser_blocks():
    matrix = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    columns = [f"embedding_{i}" for i in range(3)]
    table = pa.Table.from_batches(
        [
            pa.record_batch([pa.array(matrix[rows, i]) for i in range(3)], names=columns)
            for rows in (slice(0, 2), slice(2, 3), slice(3, 5))
        ]
    )
    result = row_major(table)
    assert result.flags.c_contiguous and result.dtype == np.float32
    assert (result == matrix).all()
