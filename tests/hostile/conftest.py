"""The hostile-input corpus's fixtures: a small world (alice's team dataset with images, a tag,
an embedding space and a finished run; charlie's private dataset) and ``send``, which makes a
case's request with a client of the case's access level. The records and checks the corpus
modules share live in ``tests/support/hostile.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from curation.models import SelectionRun, StrategyPreset
from curation.tokens.services import api_token_create
from tests.support.hostile import Case, World


@pytest.fixture
def world(request, alice, bob, charlie, dataset) -> World:
    rows = request.getfixturevalue("samples")
    tag = request.getfixturevalue("train_tag")
    vectors = request.getfixturevalue("space")
    outsider = request.getfixturevalue("outsider_dataset")
    preset = StrategyPreset.objects.create(
        name="diverse",
        owner=alice,
        config={
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}]
        },
    )
    run = SelectionRun.objects.create(
        dataset=dataset,
        config=preset.config,
        result_tag_name="picked",
        status=SelectionRun.Status.SUCCEEDED,
        created_by=alice,
    )
    token, _ = api_token_create(user=alice, name="ci")
    return World(
        ids={
            "dataset": dataset.pk,
            "sample": rows[0].pk,
            "tag": tag.pk,
            "space": vectors.pk,
            "run": run.pk,
            "token": token.pk,
            "preset": preset.pk,
            "outsider": outsider.pk,
        }
    )


@pytest.fixture
def send(request, world: World) -> Callable[[Case], Any]:
    """``send(case)``: the response to the case's request, made as ``case.who``."""
    clients: dict[str, Any] = {}

    def make_client(who: str, api: bool) -> Any:
        key = f"{who}:{api}"
        if key in clients:
            return clients[key]
        if api:
            client: Any = APIClient()
            if who != "anonymous":
                user = request.getfixturevalue(who)
                raw = api_token_create(user=user, name=f"hostile-{who}")[1]
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        else:
            client = Client()
            if who != "anonymous":
                client.force_login(request.getfixturevalue(who))
        clients[key] = client
        return client

    def go(case: Case) -> Any:
        url = world.url(case.url)
        client = make_client(case.who, url.startswith("/api/"))
        method = getattr(client, case.method.lower())
        if case.raw is not None:
            return method(url, data=case.raw, content_type=case.content_type)
        if case.json:
            return method(url, data=case.data, format="json")
        data = world.fill(dict(case.data or {}))
        for name, (file_name, content) in case.files.items():
            data[name] = SimpleUploadedFile(file_name, content)
        if url.startswith("/api/") and case.method != "GET":
            return method(url, data=data, format="multipart")
        return method(url, data=data) if data else method(url)

    return go
