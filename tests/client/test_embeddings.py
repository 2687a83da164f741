"""``compute_embeddings`` and ``text_search`` against a live ``manage.py serve``: staff compute
a space from model files on the server, the team searches it by text, outsiders see nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import curation.client as cur
from tests.support.client import LiveServer
from tests.support.onnx_models import COLOURS, model_files


def colour_folder(folder, names) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        pixels = np.zeros((24, 32, 3), dtype=np.uint8)
        pixels[...] = COLOURS[name]
        Image.fromarray(pixels, mode="RGB").save(folder / f"{name}.png")


def test_staff_compute_and_the_team_searches_by_text(
    live: LiveServer, alice: cur.Connection, unique: str, tmp_path
) -> None:
    folder = live.import_root / unique
    colour_folder(folder, ["red", "green", "blue", "teal"])
    dataset = cur.ImageDataset.create(unique)
    dataset.add_images_from_path(folder, embed=False, show_progress=False)
    files = model_files(tmp_path / "models")
    paths = {
        "image_model": str(files["image"]),
        "text_model": str(files["text"]),
        "tokenizer": str(files["tokenizer"]),
    }
    with pytest.raises(cur.PermissionDeniedError, match="Only staff may give model paths"):
        dataset.compute_embeddings(name="clip", **paths)
    admin = live.connect("admin")  # staff: every dataset (the list shows their own)
    as_admin = cur.ImageDataset(admin.get(f"datasets/{dataset.id}/"), admin)
    summary = as_admin.compute_embeddings(name="clip", show_progress=False, **paths)
    assert summary["samples"] == 4 and summary["device"] == "CPU" and summary["text_search"]
    as_alice = cur.ImageDataset.load(unique, connection=live.connect("alice"))
    ranked = [s.file_name for s in as_alice.query().text_search("blue")]
    assert ranked[0] == "blue.png" and len(ranked) == 4
    assert [s.file_name for s in as_alice.match(cur.TextSearch("red", top=1))] == ["red.png"]
    assert as_alice.query().text_search("green")[:1].to_list()[0].file_name == "green.png"
    assert cur.embedding_models(as_alice.connection) == []
    charlie = live.connect("charlie")
    with pytest.raises(cur.NotFoundError):
        charlie.get(f"datasets/{dataset.id}/samples/", [("text", "red")])
