"""The hostile-input corpus, NUL characters and malformed ids: a NUL in a page's query string
or form, and ids that are not numbers, are negative or are far too large. Every such request
answers a 4xx (or a harmless page) with one sentence and changes nothing (row counts and files
under MEDIA_ROOT and the embeddings root are identical).

Add a case with one line: ``Case(id, who, method, url, status, message, data=..., files=...)``.
"""

from __future__ import annotations

import pytest

from tests.support.hostile import Case, assert_refused_and_unchanged

D = "/datasets/{dataset}"
A = "/api/datasets/{dataset}"

CASES = [
    # --- a NUL in a page's query string or form (issue 10.9) ---
    Case("nul-browser-q", "alice", "GET", D + "/?q=a%00b", 400, "NUL"),
    Case("nul-browser-tag", "alice", "GET", D + "/?tag=tr%00ain", 400, "NUL"),
    Case("nul-browser-meta", "alice", "GET", D + "/?meta.split=tr%00", 400, "NUL"),
    Case(
        "nul-tag-create",
        "alice",
        "POST",
        D + "/tags/",
        400,
        "NUL",
        data={"action": "create_filter", "name": "a\x00b"},
    ),
    Case("nul-tag-rename", "alice", "POST", D + "/tags/{tag}/", 400, "NUL", data={"name": "x\x00"}),
    Case("nul-token-name", "alice", "POST", "/account/tokens/", 400, "NUL", data={"name": "t\x00"}),
    Case("nul-dialog-tag", "alice", "GET", D + "/select/?result_tag_name=a%00", 400, "NUL"),
    Case("nul-presets-q", "alice", "GET", "/presets/?q=%00", 400, "NUL"),
    Case("nul-run-history", "alice", "GET", D + "/runs/?status=%00", 400, "NUL"),
    Case("nul-map-space", "alice", "GET", D + "/map/?space=%00", 400, "NUL"),
    Case(
        "nul-login",
        "anonymous",
        "POST",
        "/accounts/login/",
        400,
        "NUL",
        data={"username": "a\x00", "password": "x"},
    ),
    Case("nul-api-query", "alice", "GET", A + "/samples/?q=%00", 400, "q: The NUL character"),
    Case("nul-api-query-name", "alice", "GET", A + "/samples/?%00=1", 400, "The NUL character"),
    Case("nul-api-runs-query", "alice", "GET", A + "/runs/?status=%00", 400, "NUL character"),
    Case(
        "nul-api-token-name",
        "alice",
        "POST",
        "/api/tokens/",
        400,
        "NUL",
        data={"name": "a\x00"},
        json=True,
    ),
    Case(
        "nul-api-multipart-field",
        "alice",
        "POST",
        A + "/embeddings/",
        400,
        "name",
        data={"name": "a\x00"},
        files={"file": ("emb.csv", b"filenames,embedding_0\n")},
    ),
    Case(
        "nul-api-json", "alice", "POST", A + "/tags/", 400, "NUL", data={"name": "a\x00"}, json=True
    ),
    Case("nul-header-name-key", "alice", "GET", D + "/?%00=1", 400, "NUL"),
    # --- malformed ids ---
    Case(
        "tag-id-not-a-number",
        "alice",
        "POST",
        D + "/tags/",
        400,
        "tag",
        data={"action": "add_filter", "tag": "abc"},
    ),
    Case(
        "sample-tag-id-not-a-number",
        "alice",
        "POST",
        D + "/samples/{sample}/tags/",
        400,
        "The tag id 'abc' is not a number",
        data={"action": "remove", "tag": "abc"},
    ),
    Case(
        "sample-tag-id-huge",
        "alice",
        "POST",
        D + "/samples/{sample}/tags/",
        400,
        "is not a number",
        data={"action": "remove", "tag": "9" * 30},
    ),
    Case(
        "tag-id-negative",
        "alice",
        "POST",
        D + "/tags/",
        400,
        "The tag id '-1' is not a number",
        data={"action": "add_filter", "tag": "-1"},
    ),
    Case(
        "tag-sample-id-huge",
        "alice",
        "POST",
        D + "/tags/",
        302,
        "",
        data={"action": "create_checked", "name": "x", "sample": "9" * 30},
    ),
    Case(
        "tag-combine-id-huge",
        "alice",
        "POST",
        D + "/tags/",
        400,
        "is not a number: reload the page",
        data={"action": "combine", "name": "x", "operation": "union", "tags": "9" * 30},
    ),
    Case(
        "tag-combine-id-not-a-number",
        "alice",
        "POST",
        D + "/tags/",
        400,
        "The tag id 'abc' is not a number",
        data={"action": "combine", "name": "x", "operation": "union", "tags": ["{tag}", "abc"]},
    ),
    Case(
        "builder-dataset-not-a-number",
        "alice",
        "GET",
        "/presets/{preset}/edit/?dataset=abc",
        404,
        "Not found",
    ),
    Case("dialog-preset-not-a-number", "alice", "GET", D + "/select/?preset=abc", 200, ""),
    Case("browser-after-huge", "alice", "GET", D + "/?after=" + "9" * 30, 200, ""),
    Case("browser-after-negative", "alice", "GET", D + "/?after=-5", 200, ""),
    Case(
        "keep-first-k-huge",
        "alice",
        "POST",
        "/runs/{run}/keep-first/",
        302,
        "",
        data={"k": "9" * 30},
    ),
    Case("run-history-page-huge", "alice", "GET", D + "/runs/?page=" + "9" * 30, 200, ""),
    Case("presets-page-negative", "alice", "GET", "/presets/?page=-3", 200, ""),
    Case("api-samples-limit-huge", "alice", "GET", A + "/samples/?limit=" + "9" * 30, 400, ""),
    Case("api-samples-cursor-junk", "alice", "GET", A + "/samples/?cursor=%%%", 200, ""),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(case: Case, send, world) -> None:
    assert_refused_and_unchanged(case, send)
