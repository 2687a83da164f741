"""Seeds 002 and 003: LightlyStudio's documented notebook code runs against ``manage.py
serve`` with only its import lines changed (and the docs' placeholder path filled in)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import curation.client as cur
from curation.client import SampleField
from tests.support.client import LiveServer

BLOCKS = Path(__file__).with_name("seed_code.txt")
IMPORTS = {
    "import lightly_studio as ls": "import curation.client as ls",
    "from lightly_studio.core.dataset_query import": "from curation.client import",
    "from lightly_studio.sampling.sampling_config import": "from curation.client import",
    "from lightly_studio.selection.selection_config import": "from curation.client import",
}
PLACEHOLDER = "/path/to/image_dataset"
N = 40


def blocks() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for line in BLOCKS.read_text().splitlines():
        if line.startswith("=== "):
            out.append((line[4:], ""))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + line + "\n")
    return out


def runnable(text: str, image_folder: Path) -> str:
    """Only the import lines change (and the placeholder path)."""
    changed = []
    for line in text.splitlines():
        for old, new in IMPORTS.items():
            if line.startswith(old):
                line = new + line[len(old) :]
        changed.append(line)
    return "\n".join(changed).replace(PLACEHOLDER, str(image_folder)) + "\n"


def write_images(folder: Path) -> list[str]:
    """40 images; every 4th is 1920 pixels wide (flat colour, so the files stay small)."""
    folder.mkdir()
    names = []
    for i in range(N):
        size = (1920, 1080) if i % 4 == 0 else (64 + i, 48)
        name = f"img_{i:03d}.png"
        Image.new("RGB", size, (i * 6 % 255, 100, 200)).save(folder / name)
        names.append(name)
    return names


def prepare(name: str | None, names: list[str], tmp_path: Path) -> cur.ImageDataset:
    """What the docs assume the dataset already has: embeddings ("my_model_name"), the
    "sharpness" / "difficulty" metadata and cat/dog annotations."""
    dataset = cur.ImageDataset.load_or_create(name)
    vectors = np.random.default_rng(3).normal(size=(N, 16)).astype(np.float32)
    dataset.add_embeddings(
        vectors,
        names,
        embedding_model_name="my_model_name",
        create_samples=True,
        show_progress=False,
    )
    dataset.add_metadata(
        {
            n: {"sharpness": float(i % 7), "difficulty": float(i % 5) / 4}
            for i, n in enumerate(names)
        },
        show_progress=False,
    )
    labels = tmp_path / f"labels-{dataset.id}.csv"
    labels.write_text(
        "file_name,label\n"
        + "".join(f"{n},{'cat' if i % 3 == 0 else 'dog'}\n" for i, n in enumerate(names))
    )
    dataset.add_annotations_coco(labels, show_progress=False)
    return dataset


def test_seed_002_and_003_run_with_only_the_imports_changed(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.environ["CURATION_PROGRESS"] = "0"
    monkeypatch.setenv("CURATION_URL", live.url)
    monkeypatch.setenv("CURATION_TOKEN", live.tokens["alice"])
    monkeypatch.chdir(tmp_path)
    images = tmp_path / "image_dataset"
    names = write_images(images)
    cur.connect()  # the module-level default, from the environment like a notebook's
    dataset = prepare(None, names, tmp_path)
    dataset.add_images_from_path(images, show_progress=False)  # the first block filters on width
    other = prepare("my-dataset", names, tmp_path)
    other.add_images_from_path(images, show_progress=False)
    other.query().selection().diverse(
        n_samples_to_select=7, selection_result_tag_name="diverse_sampling", show_progress=False
    )
    namespace: dict[str, object] = {}
    ran = []
    for title, text in blocks():
        code = runnable(text, images)
        assert "lightly_studio" not in code
        if title.startswith("003") and "dataset" not in namespace:
            raise AssertionError("003 runs after 002's dataset")
        exec(compile(code, title, "exec"), namespace)  # noqa: S102 - the docs' own code
        ran.append(title)
    assert len(ran) == 11

    tags = dataset.tags()
    assert dataset.name == cur.DEFAULT_DATASET_NAME
    assert tags["diverse_hd"] == 10  # the ten 1920-wide images
    wide = {s.id for s in dataset.match(SampleField.width >= 1920)}
    assert {s.id for s in dataset.match(SampleField.tags.contains("diverse_hd"))} == wide
    for tag, n in [
        ("diverse_sampling", 10),
        ("sharpest_samples", 5),
        ("blurriest_samples", 5),
        ("typical_sampling", 5),
        ("outlier_sampling", 5),
        ("my_query_samples", 5),
        ("similar_to_query_sampling", 10),
        ("balanced_uniform", 40),
        ("balanced_input", 40),
        ("balanced_custom", 40),
        ("multi_strategy_sampling", 10),
    ]:
        assert tags[tag] == n, tag
    # Seed 003 continues with the last ``dataset`` of 002: my-dataset (40 samples, so n=100
    # selects all of them, as the run's message says).
    other_tags = other.tags()
    for tag in (
        "diverse selection",
        "weighted selection",
        "balanced selection",
        "diverse and weighted selection",
    ):
        assert other_tags[tag] == 40, tag
    sharpest = [
        s.metadata["sharpness"]
        for s in dataset.match(SampleField.tags.contains("sharpest_samples"))
    ]
    assert sorted(sharpest) == [6.0] * 5
    blurriest = [
        s.metadata["sharpness"]
        for s in dataset.match(SampleField.tags.contains("blurriest_samples"))
    ]
    assert sorted(blurriest) == [0.0] * 5
    typical = dataset.match(SampleField.tags.contains("typical_sampling")).to_list()
    outliers = dataset.match(SampleField.tags.contains("outlier_sampling")).to_list()
    assert min(s.metadata["typicality"] for s in typical) > max(
        s.metadata["typicality"] for s in outliers
    )
    query = {s.id for s in dataset.match(SampleField.tags.contains("my_query_samples"))}
    similar = {s.id for s in dataset.match(SampleField.tags.contains("similar_to_query_sampling"))}
    assert query <= similar  # a query sample is at distance 0 from itself: similarity 1
    exported = (tmp_path / "export.txt").read_text().split()
    picked = other.match(SampleField.tags.contains("diverse_sampling")).to_list()
    assert exported == [s.file_path_abs for s in picked] and len(exported) == 7
    assert all(Path(p).is_file() for p in exported)
