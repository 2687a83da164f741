"""API fixtures (a pytest plugin loaded by ``tests/conftest.py``): an authenticated client per
access level, and a dataset with three samples (``three_samples``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from curation.models import Sample
from curation.tokens.services import api_token_create
from tests.support.selection import populate

LEVELS = ["alice", "bob", "charlie", "anonymous"]  # owner, team member, outsider, nobody


@pytest.fixture
def api(request) -> Callable[[str], APIClient]:
    """``api("alice")``: a client sending alice's API token; ``api("anonymous")``: none."""

    keys: dict[str, str] = {}

    def make(who: str) -> APIClient:
        client = APIClient()
        if who != "anonymous":
            if who not in keys:
                user = request.getfixturevalue(who)
                keys[who] = api_token_create(user=user, name=f"tests-{who}")[1]
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {keys[who]}")
        return client

    return make


@pytest.fixture
def three_samples(dataset) -> list[Sample]:
    """Three samples of alice's team dataset, in id order."""
    Sample.objects.bulk_create(
        [
            Sample(dataset=dataset, file_name="a.jpg", width=640, height=480, metadata={"w": 1}),
            Sample(dataset=dataset, file_name="b.jpg", width=320, height=240, metadata={"w": 2}),
            Sample(dataset=dataset, file_name="c.jpg", width=100, height=100, metadata={"w": 3}),
        ]
    )
    return list(Sample.objects.filter(dataset=dataset).order_by("pk"))


@pytest.fixture
def populated(dataset) -> list[int]:
    """60 samples with metadata, scores, predictions and a default embedding space."""
    return populate(dataset, n=60, dim=8)


def iso(value) -> str:
    """A datetime as DRF renders it."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


DENIED = {
    "anonymous": (401, {"detail": "Authentication credentials were not provided."}),
}
