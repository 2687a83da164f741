"""The hostile-input corpus for videos, sequences, facets and map colours: each case answers a
4xx with one sentence (naming the parameter or JSON path) and changes nothing.

Add a case with one line: ``Case(id, who, method, url, status, message, data=..., files=...)``.
"""

from __future__ import annotations

import pytest

from tests.support.hostile import Case, assert_refused_and_unchanged

D = "/datasets/{dataset}"
A = "/api/datasets/{dataset}"
J = {"json": True}
DIVERSITY = [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}]


def _run(config: dict) -> dict:
    return {"result_tag_name": "x", "config": {"strategies": DIVERSITY, **config}}


CASES = [
    Case("video-unknown", "alice", "GET", A + "/samples/?video=nope.mp4", 400, "nope.mp4"),
    Case("browser-video-unknown", "alice", "GET", D + "/?video=../x.mp4", 400, "video"),
    Case("frames-backwards", "alice", "GET", A + "/samples/?frames=9-3", 400, "frames="),
    Case("frames-junk", "alice", "GET", A + "/samples/?frames=a-b", 400, "frames="),
    Case("frames-huge", "alice", "GET", A + "/samples/?frames=1-" + "9" * 30, 400, "frames="),
    Case("video-page-unknown", "alice", "GET", D + "/videos/999999999/", 404, ""),
    Case("video-api-outsider", "alice", "GET", "/api/datasets/{outsider}/videos/", 404, ""),
    Case(
        "sequence-zero",
        "alice",
        "POST",
        A + "/runs/",
        400,
        "selected_sequence_length",
        data=_run({"n_samples": 4, "selected_sequence_length": 0}),
        **J,
    ),
    Case(
        "sequence-not-int",
        "alice",
        "POST",
        A + "/runs/",
        400,
        "selected_sequence_length",
        data=_run({"n_samples": 4, "selected_sequence_length": "4"}),
        **J,
    ),
    Case(
        "sequence-not-a-multiple",
        "alice",
        "POST",
        A + "/runs/",
        400,
        "n_samples",
        data=_run({"n_samples": 5, "selected_sequence_length": 2}),
        **J,
    ),
    Case("facet-values-no-key", "alice", "GET", D + "/facets/values/", 400, "key="),
    Case(
        "facet-histogram-long-key",
        "alice",
        "GET",
        D + "/facets/histogram/?key=" + "k" * 300,
        400,
        "key=",
    ),
    Case("facet-bad-filter", "alice", "GET", D + "/facets/tags/?min:x=abc", 400, "min:x"),
    Case("facet-outsider", "alice", "GET", "/datasets/{outsider}/facets/tags/", 404, ""),
    Case(
        "map-colour-junk", "alice", "GET", D + "/map/colours/?space=default&colour=sql:1", 400, ""
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(case: Case, send, world) -> None:
    assert_refused_and_unchanged(case, send)
