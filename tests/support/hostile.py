"""The hostile-input corpus's helpers: the ``Case`` (one bad request) and ``FileCase`` (one bad
side file) records, the ``World`` whose ids fill a case's URL placeholders, the snapshot of every
row count and file a refused request must leave unchanged, ``.npy`` builders and the user-visible
text of a response. The fixtures that build the world and send a case live in
``tests/hostile/conftest.py``.

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
from django.conf import settings
from django.core.management import CommandError, call_command

from curation.imports.common import IngestError
from curation.imports.services import dataset_import
from curation.models import (
    Annotation,
    Dataset,
    EmbeddingSpace,
    Sample,
    SelectionRun,
    Tag,
    TagSample,
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


def assert_refused_and_unchanged(case: Case, send: Callable[[Case], Any]) -> None:
    """The corpus's one check: ``case`` answers its status with its sentence, shows no stack
    trace, server path or codec name, and changes no row or file."""
    before = snapshot()
    response = send(case)
    text = message_of(response)
    assert response.status_code == case.status, text[:500]
    assert case.message in text
    assert "Traceback" not in text and "/tmp/" not in text and "codec" not in text
    assert snapshot() == before
