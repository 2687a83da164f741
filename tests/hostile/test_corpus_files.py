"""The hostile-input corpus, side files: metadata, embeddings, annotations and predictions that
are damaged, lie in their headers or hold NULs, surrogates or deep nesting. Each is refused by
every entry point (the import service the API's and the web's import jobs run, and
``manage.py import_dataset``) with one line naming the file and changes nothing.

Add a case with one line: ``FileCase(id, option, file_name, content, message[, names])``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.hostile import FileCase, import_file_case, npy_array, npy_bytes, snapshot

# Side files refused by every entry point: the import service (what the API's and the web's
# import jobs run) and ``manage.py import_dataset``. (option, file name, bytes, message[, the
# .npy's file-name list as (name, bytes)]).
FILE_CASES = [
    FileCase(
        "metadata-nul-cell",
        "metadata",
        "metadata.csv",
        b"file_name,w\ncat_00.png,a\x00b\n",
        "metadata.csv line 2 contains a NUL character",
    ),
    FileCase(
        "metadata-not-utf8",
        "metadata",
        "metadata.csv",
        b"file_name,w\ncat_00.png,a\ncat_01.png,\xff\n",
        "metadata.csv line 3 is not valid UTF-8",
    ),
    FileCase(
        "metadata-long-field",
        "metadata",
        "metadata.csv",
        b"file_name,w\ncat_00.png," + b"x" * 200_000 + b"\n",
        "metadata.csv line 2 has a value longer than 128 KB",
    ),
    FileCase(
        "metadata-jsonl-nul-escape",
        "metadata",
        "metadata.jsonl",
        b'{"file_name": "cat_00.png", "w": "a\\u0000"}\n',
        "Line 1 of metadata.jsonl holds a NUL character",
    ),
    FileCase(
        "metadata-jsonl-surrogate",
        "metadata",
        "metadata.jsonl",
        b'{"file_name": "cat_00.png", "w": "\\ud800"}\n',
        "unpaired surrogate",
    ),
    FileCase(
        "metadata-jsonl-deep",
        "metadata",
        "metadata.jsonl",
        b'{"file_name": "cat_00.png", "w": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
        "nested too deeply",
    ),
    FileCase(
        "metadata-jsonl-not-utf8",
        "metadata",
        "metadata.jsonl",
        b'{"file_name": "cat_00.png", "w": "\xff"}\n',
        "metadata.jsonl line 1 is not valid UTF-8",
    ),
    FileCase(
        "embeddings-csv-nul-name",
        "embeddings",
        "emb.csv",
        b"filenames,embedding_0\ncat_\x0000.png,0.5\n",
        "emb.csv line 2 contains a NUL character",
    ),
    FileCase(
        "embeddings-csv-not-utf8",
        "embeddings",
        "emb.csv",
        b"filenames,embedding_0\ncat_\xff.png,0.5\n",
        "emb.csv line 2 is not valid UTF-8",
    ),
    FileCase(
        "embeddings-csv-header-not-utf8",
        "embeddings",
        "emb.csv",
        b"filenames,embedding_\xff\ncat_00.png,0.5\n",
        "emb.csv line 1 is not valid UTF-8",
    ),
    FileCase(
        "embeddings-csv-long-field",
        "embeddings",
        "emb.csv",
        b"filenames,embedding_0\n" + b"a" * 200_000 + b".png,0.5\n",
        "emb.csv line 2 has a value longer than 128 KB",
    ),
    FileCase(
        "npy-header-2e9-rows",
        "embeddings",
        "emb.npy",
        npy_bytes((2_000_000_000, 128)),
        "emb.npy declares 2,000,000,000 x 128 float32 values (953.7 GB) but holds",
        ("names.txt", b"cat_00.png\n"),
    ),
    FileCase(
        "npy-truncated",
        "embeddings",
        "emb.npy",
        npy_bytes((2, 4))[:-4],
        "is truncated",
        ("names.txt", b"cat_00.png\ncat_01.png\n"),
    ),
    FileCase(
        "npy-complex",
        "embeddings",
        "emb.npy",
        npy_bytes((1, 4), np.complex64),
        "emb.npy must hold a 2-D array of real numbers (float or int), not complex numbers",
        ("names.txt", b"cat_00.png\n"),
    ),
    FileCase(
        "npy-object",
        "embeddings",
        "emb.npy",
        npy_bytes((1, 1), object),
        "emb.npy holds Python objects, which Curation never unpickles",
        ("names.txt", b"cat_00.png\n"),
    ),
    FileCase(
        "npy-not-npy",
        "embeddings",
        "emb.npy",
        b"hello",
        "emb.npy is not a .npy file",
        ("names.txt", b"cat_00.png\n"),
    ),
    FileCase(
        "npy-names-bytes",
        "embeddings",
        "emb.npy",
        npy_bytes((1, 4)),
        "not 1-D bytes values",
        ("names.npy", npy_array(np.array([b"cat_00.png"]))),
    ),
    FileCase(
        "npy-names-objects",
        "embeddings",
        "emb.npy",
        npy_bytes((1, 4)),
        "names.npy holds Python objects",
        ("names.npy", npy_array(np.array(["cat_00.png"], dtype=object))),
    ),
    FileCase(
        "npy-names-binary-txt",
        "embeddings",
        "emb.npy",
        npy_bytes((1, 4)),
        "names.txt line 1 is not valid UTF-8",
        ("names.txt", b"\x93NUMPY\xff\xfe\n"),
    ),
    FileCase(
        "npy-names-json-not-utf8",
        "embeddings",
        "emb.npy",
        npy_bytes((1, 4)),
        "names.json is not valid UTF-8",
        ("names.json", b'["\xff"]'),
    ),
    FileCase(
        "annotations-csv-nul",
        "annotations",
        "labels.csv",
        b"file_name,label\ncat_00.png,c\x00at\n",
        "labels.csv line 2 contains a NUL character",
    ),
    FileCase(
        "annotations-csv-not-utf8",
        "annotations",
        "labels.csv",
        b"file_name,label\ncat_00.png,\xe9\n",
        "labels.csv line 2 is not valid UTF-8",
    ),
    FileCase(
        "annotations-csv-long-field",
        "annotations",
        "labels.csv",
        b"file_name,label\ncat_00.png," + b"c" * 200_000 + b"\n",
        "labels.csv line 2 has a value longer than 128 KB",
    ),
    FileCase(
        "annotations-coco-not-utf8",
        "annotations",
        "coco.json",
        b'{"images": "\xff"}',
        "coco.json is not valid UTF-8",
    ),
    FileCase(
        "annotations-coco-deep",
        "annotations",
        "coco.json",
        b"[" * 100_000 + b"]" * 100_000,
        "coco.json is nested too deeply",
    ),
    FileCase(
        "annotations-coco-nul-label",
        "annotations",
        "coco.json",
        b'{"images": [], "annotations": [], "categories": [{"id": 1, "name": "c\\u0000"}]}',
        "coco.json holds a NUL character",
    ),
    FileCase(
        "predictions-csv-nul",
        "predictions",
        "preds.csv",
        b"file_name,label\ncat_00.png,c\x00\n",
        "preds.csv line 2 contains a NUL character",
    ),
    FileCase(
        "predictions-csv-not-utf8",
        "predictions",
        "preds.csv",
        b"file_name,label\ncat_00.png,cat\ncat_01.png,\xff\n",
        "preds.csv line 3 is not valid UTF-8",
    ),
    FileCase(  # pyarrow's own text names the server path: never shown (redteam)
        "embeddings-parquet-damaged",
        "embeddings",
        "emb.parquet",
        b"PAR1junkPAR1",
        "emb.parquet is not a readable Parquet file: it is damaged, cut short or not Parquet.",
    ),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
@pytest.mark.parametrize("entry", ["service", "cli"])
def test_hostile_file_is_refused_with_its_line_and_changes_nothing(
    case: FileCase, entry: str, world, tmp_path
) -> None:
    before = snapshot()
    message = import_file_case(case, entry, tmp_path / "upload")
    assert case.message in message
    assert "\n" not in message and "Traceback" not in message
    assert str(tmp_path) not in message and "codec" not in message
    assert snapshot() == before
