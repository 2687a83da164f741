"""The hostile-input corpus, request bodies: JSON that is not an object, has the wrong content
type, is too big or too deep, and forms with too many fields. Every such request answers a 4xx
with one sentence and changes nothing (row counts and files under MEDIA_ROOT and the
embeddings root are identical).

Add a case with one line: ``Case(id, who, method, url, status, message, data=..., files=...)``.
"""

from __future__ import annotations

import pytest

from tests.support.hostile import Case, assert_refused_and_unchanged

D = "/datasets/{dataset}"
A = "/api/datasets/{dataset}"

CASES = [
    # --- JSON bodies ---
    Case("json-list-body", "alice", "POST", A + "/tags/", 400, "", data=[1, 2], json=True),
    Case(
        "json-wrong-content-type",
        "alice",
        "POST",
        A + "/tags/",
        415,
        "",
        raw=b"name=x",
        content_type="text/plain",
    ),
    Case(
        "json-too-big",
        "alice",
        "POST",
        A + "/tags/",
        413,
        "larger than the",
        raw=b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}',
        content_type="application/json",
    ),
    Case(
        "json-latin1-bytes",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "not valid utf-8 text",
        raw=b'{"name": "\xff"}',
        content_type="application/json",
    ),
    Case("json-string-body", "alice", "POST", A + "/tags/", 400, "", data="name", json=True),
    Case(
        "json-null-body",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "",
        raw=b"null",
        content_type="application/json",
    ),
    Case(
        "json-deep",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "nested too deeply",
        raw=b"[" * 100_000 + b"]" * 100_000,
        content_type="application/json",
    ),
    Case(
        "json-huge-int",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "too large",
        raw=b'{"name": "x", "sample_ids": [' + b"9" * 40 + b"]}",
        content_type="application/json",
    ),
    Case(
        "json-int-5000-digits",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "is too large",
        raw=b'{"name": "x", "sample_ids": [' + b"9" * 5000 + b"]}",
        content_type="application/json",
    ),
    Case(
        "json-float-overflow",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "is too large",
        raw=b'{"name": "x", "sample_ids": [1e999]}',
        content_type="application/json",
    ),
    Case(
        "json-nan",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "NaN is not valid JSON",
        raw=b'{"name": NaN}',
        content_type="application/json",
    ),
    Case(
        "json-name-too-long",
        "alice",
        "POST",
        A + "/tags/",
        400,
        "",
        data={"name": "x" * 5000},
        json=True,
    ),
    Case(
        "form-too-big",
        "alice",
        "POST",
        D + "/tags/",
        413,
        "larger than the server accepts",
        raw=b"name=" + b"x" * (3 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "form-too-many-fields",
        "alice",
        "POST",
        D + "/tags/",
        400,
        "more than 1000 fields",
        raw=b"&".join(b"f%d=1" % i for i in range(1500)),
        content_type="application/x-www-form-urlencoded",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(case: Case, send, world) -> None:
    assert_refused_and_unchanged(case, send)
