"""The hostile-input corpus harness: a small world (alice's team dataset with images, a tag, an
embedding space and a finished run; charlie's private dataset), clients per access level, and a
snapshot of every row count and file that a bad request must leave unchanged.

A case names its URL with placeholders filled from the world: ``{dataset}``, ``{sample}``,
``{tag}``, ``{space}``, ``{run}``, ``{token}``, ``{preset}``, ``{outsider}`` (charlie's dataset).
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from curation.models import (
    Annotation,
    Dataset,
    EmbeddingSpace,
    Sample,
    SelectionRun,
    StrategyPreset,
    Tag,
    TagSample,
)
from curation.tokens.services import api_token_create
from tests.support.browse import (  # noqa: F401  (fixtures)
    image_root,
    outsider_dataset,
    samples,
    space,
    train_tag,
)

COUNTED = (Dataset, Sample, Tag, TagSample, Annotation, EmbeddingSpace, SelectionRun)


@dataclass(frozen=True)
class Case:
    """One hostile request and what it must answer. ``files`` maps a form field to
    ``(file name, bytes)``; ``data`` is a form dict, or the JSON body when ``json`` is set
    (``raw`` sends the bytes as they are with ``content_type``)."""

    id: str
    who: str
    method: str
    url: str
    status: int
    message: str
    data: Any = None
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    json: bool = False
    raw: bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class FileCase:
    """A side file given to an import as ``option`` (metadata, embeddings, annotations,
    predictions); ``names`` is the ``.npy``'s file-name list as ``(file name, bytes)``."""

    id: str
    option: str
    file_name: str
    content: bytes
    message: str
    names: tuple[str, bytes] | None = None


def import_file_case(case: FileCase, entry: str, folder: Path) -> str:
    """Import the case's file into alice's "cats" dataset through ``entry`` (``service``: the
    import service the API's and the web's jobs run; ``cli``: ``manage.py import_dataset``);
    the one-line error it was refused with."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.file_name
    path.write_bytes(case.content)
    names_path = None
    if case.names:
        names_path = folder / case.names[0]
        names_path.write_bytes(case.names[1])
    option = case.option
    if entry == "service":
        from curation.imports.common import IngestError
        from curation.imports.services import dataset_import

        value: Any = [path] if option == "predictions" else path
        kwargs: dict[str, Any] = {option: value}
        if names_path:
            kwargs["embedding_filenames"] = names_path
        try:
            dataset_import(
                dataset=Dataset.objects.get(name="cats"),
                embed="never",
                restrict_to_import_roots=False,
                **kwargs,
            )
        except IngestError as exc:
            return str(exc)
        raise AssertionError(f"{case.id}: the import service accepted the file")
    from django.core.management import CommandError, call_command

    args = ["import_dataset", "cats", f"--{option}", str(path), "--embed", "never"]
    args += ["--owner", "alice"]
    if names_path:
        args += ["--embedding-filenames", str(names_path)]
    try:
        call_command(*args, verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as exc:
        return str(exc)
    raise AssertionError(f"{case.id}: import_dataset accepted the file")


@dataclass
class World:
    ids: dict[str, int]

    def url(self, template: str) -> str:
        return template.format(**self.ids)

    def fill(self, value: Any) -> Any:
        """Form values with the URL placeholders filled in (``{"tags": ["{tag}", "abc"]}``)."""
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return str(self.ids.get(value[1:-1], value))
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value


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


def storage_listing() -> list[tuple[str, int]]:
    """Every file below MEDIA_ROOT and the embeddings root, with its size."""
    found = []
    for root in (Path(settings.MEDIA_ROOT), Path(settings.CURATION_EMBEDDINGS_ROOT)):
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                found.append((str(path), path.stat().st_size))
    return sorted(found)


def snapshot() -> dict[str, Any]:
    state: dict[str, Any] = {model.__name__: model.objects.count() for model in COUNTED}
    state["files"] = storage_listing()
    return state


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
            from django.core.files.uploadedfile import SimpleUploadedFile

            data[name] = SimpleUploadedFile(file_name, content)
        if url.startswith("/api/") and case.method != "GET":
            return method(url, data=data, format="multipart")
        return method(url, data=data) if data else method(url)

    return go


def npy_array(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype.hasobject)
    return buffer.getvalue()


def npy_bytes(shape: tuple[int, ...], dtype: Any = np.float32) -> bytes:
    """A ``.npy`` file whose header declares ``shape`` and ``dtype``; the data that follows is
    what a small array of that dtype holds (so a huge declared shape is a lying header)."""
    small = tuple(min(n, 4) for n in shape)
    data = npy_array(np.zeros(small, dtype=dtype))
    if small == shape:
        return data
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
        "fortran_order": False,
        "shape": shape,
    }
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    body_start = len(data) - int(np.prod(small)) * np.dtype(dtype).itemsize
    return buffer.getvalue() + data[body_start:]


def message_of(response: Any) -> str:
    """The response's user-visible text: an API ``detail`` or the page body."""
    content_type = response.get("Content-Type", "")
    if "json" in content_type:
        body = response.json()
        return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
    return html.unescape(response.content.decode(errors="replace"))
