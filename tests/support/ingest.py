"""Builders shared by the import/export tests: images drawn with Pillow into tmp_path, small
CSV/JSON writers, and the check that a failed import wrote nothing."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image

from curation.models import Annotation, AnnotationTask, Dataset, EmbeddingSpace, Sample, Score, Tag


def make_image(path: Path, seed: int, size: tuple[int, int] = (40, 30)) -> Path:
    """A small image whose content depends on ``seed`` (stripes of two colours plus noise)."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(0, 256, size=3)
    other = 255 - base
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    stripe = max(2, seed % 7 + 2)
    for x in range(width):
        pixels[:, x] = base if (x // stripe) % 2 else other
    pixels = np.clip(pixels + rng.integers(-20, 20, size=pixels.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels, mode="RGB")
    suffix = path.suffix.lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}.get(
        suffix, "TIFF"
    )
    image.save(path, format=fmt)
    return path


def make_images(folder: Path, names: Iterable[str], size: tuple[int, int] = (40, 30)) -> Path:
    for seed, name in enumerate(names):
        make_image(folder / name, seed, size)
    return folder


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


def lightly_csv(path: Path, names: list[str], matrix: np.ndarray, **columns: list[Any]) -> Path:
    header = ["filenames", *(f"embedding_{i}" for i in range(matrix.shape[1])), *columns]
    rows = [
        [name, *row, *(values[i] for values in columns.values())]
        for i, (name, row) in enumerate(zip(names, matrix.tolist(), strict=True))
    ]
    return write_csv(path, header, rows)


def embedding_files() -> list[Path]:
    root = Path(settings.CURATION_EMBEDDINGS_ROOT)
    return sorted(root.rglob("*.npy")) if root.exists() else []


def thumbnail_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted((root / "datasets").rglob("thumbs/*/*")) if root.exists() else []


def assert_nothing_written(dataset: Dataset | None = None) -> None:
    """No sample, annotation, score, tag, embedding space, thumbnail or embedding file exists."""
    filters = {"dataset": dataset} if dataset is not None else {}
    assert Sample.objects.filter(**filters).count() == 0
    assert AnnotationTask.objects.filter(**filters).count() == 0
    assert Annotation.objects.count() == 0
    assert Score.objects.count() == 0
    assert Tag.objects.filter(**filters).count() == 0
    assert EmbeddingSpace.objects.filter(**filters).count() == 0
    assert embedding_files() == []
    assert thumbnail_files() == []
