"""The hostile-input corpus for this stop's new surfaces: find similar, text search, saved views,
score metadata, the embed job, object embeddings, upload sessions and keep-first over the API.
Every case answers a 4xx (or a harmless page) with one sentence and changes nothing.

Add a case with one line: ``Case(id, who, method, url, status, message, data=..., files=...)``.
"""

from __future__ import annotations

import pytest

from tests.support.hostile import Case, assert_refused_and_unchanged

D = "/datasets/{dataset}"
A = "/api/datasets/{dataset}"
J = {"json": True}

CASES = [
    Case("similar-not-an-id", "alice", "GET", A + "/samples/?similar_to=abc", 400, "similar_to"),
    Case("similar-foreign-id", "alice", "GET", A + "/samples/?similar_to=999999999", 400, ""),
    Case(
        "similar-top-negative",
        "alice",
        "GET",
        A + "/samples/?similar_to={sample}&similar_top=-3",
        400,
        "similar_top",
    ),
    Case("similar-and-text", "alice", "GET", A + "/samples/?similar_to={sample}&text=dog", 400, ""),
    Case("text-without-model", "alice", "GET", A + "/samples/?text=dog", 400, "text"),
    Case("text-top-junk", "alice", "GET", A + "/samples/?text=dog&text_top=x", 400, "text_top"),
    Case("browser-similar-junk", "alice", "GET", D + "/?similar_to=1;DROP", 400, "similar_to"),
    Case("view-unknown", "alice", "GET", A + "/samples/?view=nope", 400, "nope"),
    Case(
        "view-bad-visibility",
        "alice",
        "POST",
        A + "/views/",
        400,
        "Visibility must be private or team",
        data={"name": "v", "filter": "q=a", "visibility": "world"},
        **J,
    ),
    Case(
        "view-bad-filter",
        "alice",
        "POST",
        A + "/views/",
        400,
        "",
        data={"name": "v", "filter": "evil=1"},
        **J,
    ),
    Case(
        "view-outsider",
        "charlie",
        "POST",
        A + "/views/",
        404,
        "",
        data={"name": "v", "filter": "q=a"},
        **J,
    ),
    Case(
        "typicality-reserved-name",
        "alice",
        "POST",
        A + "/metadata/typicality/",
        400,
        "",
        data={"metadata_name": "lightly.sharpness"},
        **J,
    ),
    Case(
        "typicality-neighbours-junk",
        "alice",
        "POST",
        A + "/metadata/typicality/",
        400,
        "",
        data={"num_nearest_neighbors": -1},
        **J,
    ),
    Case(
        "similarity-unknown-tag",
        "alice",
        "POST",
        A + "/metadata/similarity/",
        400,
        "",
        data={"query_tag_name": "nope"},
        **J,
    ),
    Case(
        "embed-unknown-model",
        "alice",
        "POST",
        A + "/embeddings/compute/",
        400,
        "",
        data={"model": "nope", "name": "clip"},
        **J,
    ),
    Case(
        "embed-path-not-staff",
        "alice",
        "POST",
        A + "/embeddings/compute/",
        400,
        "No embedding model named",
        data={"model": "/etc/passwd", "name": "clip"},
        **J,
    ),
    Case(
        "objects-unknown-task",
        "alice",
        "POST",
        A + "/object-embeddings/",
        400,
        "",
        data={"task": "nope"},
        files={"file": ("o.csv", b"filename,object_index,embedding_0\na.jpg,0,1\n")},
    ),
    Case(
        "upload-session-junk",
        "alice",
        "POST",
        A + "/uploads/",
        400,
        "",
        data={"folder": 5, "names": "x"},
        **J,
    ),
    Case(
        "keep-first-negative",
        "alice",
        "POST",
        "/api/runs/{run}/keep-first/",
        400,
        "",
        data={"k": -1, "tag_name": "first"},
        **J,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(case: Case, send, world) -> None:
    assert_refused_and_unchanged(case, send)
