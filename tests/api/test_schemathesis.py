"""Property-based API test: schemathesis generates requests from the OpenAPI schema and calls the
app in-process (WSGI), authenticated as alice with a small dataset; no request may end in 5xx,
and every response must match the documented status codes, content types and shapes.

Bounded: at most ``MAX_EXAMPLES`` generated requests per operation, each under ``DEADLINE``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from curation.models import StrategyPreset
from curation.tags.services import tag_create
from curation.tokens.services import api_token_create
from tests.support.selection import populate

MAX_EXAMPLES = 10
DEADLINE = timedelta(seconds=5)
CONFIG = {
    "n_samples": 3,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


@pytest.fixture
def wsgi_app(db):
    """Django as a WSGI app that keeps the test's database connection (and transaction) open,
    as Django's own test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app):
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)


@pytest.fixture
def world(alice, dataset):
    """A small dataset with samples, embeddings, a tag and a preset; alice's token."""
    ids = populate(dataset, n=12, dim=4)
    tag = tag_create(dataset=dataset, name="train", sample_ids=ids[:6])
    preset = StrategyPreset.objects.create(owner=alice, name="p", config=CONFIG)
    _, key = api_token_create(user=alice, name="schemathesis")
    return {
        "dataset_id": dataset.pk,
        "sample_id": ids[0],
        "tag_id": tag.pk,
        "preset_id": preset.pk,
        "space_id": dataset.embedding_spaces.get().pk,
        "key": key,
    }


def call(case, world) -> None:
    # Most requests address the real objects (random ids would only ever meet 404s); deleting
    # the dataset keeps its random id so one example does not empty the rest of the run.
    for name in list(case.path_parameters or {}):
        if name in world and not (case.method == "DELETE" and case.path.endswith("{dataset_id}/")):
            case.path_parameters[name] = world[name]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world['key']}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


def test_the_api_never_fails_and_keeps_to_its_schema(api_schema, world):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30  # every documented operation is exercised
    for operation in operations:
        if operation.path in ("/api/docs/", "/api/redoc/", "/api/schema/"):
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=DEADLINE,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case):
            call(case, world)

        run()
