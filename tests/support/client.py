"""Helpers of the client tests (``tests/client/``): the live server's handle, small image
folders and embeddings for them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

import curation.client as cur


@dataclass
class LiveServer:
    url: str
    tokens: dict[str, str]
    import_root: Path
    embedded: bool  # embedded mode (SQLite); team mode with DATABASE_URL

    def connect(self, who: str = "alice") -> cur.Connection:
        return cur.connect(self.url, token=self.tokens[who])


def make_images(folder: Path, count: int, *, start: int = 0) -> list[str]:
    """``count`` small PNG files with varied sizes and colours; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    rng = np.random.default_rng(start)
    for i in range(start, start + count):
        width, height = (32 + 8 * (i % 5), 24 + 4 * (i % 3))
        pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        name = f"img_{i:03d}.png"
        Image.fromarray(pixels).save(folder / name)
        names.append(name)
    return names


def embeddings_for(names: list[str], dim: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(len(names), dim)).astype(np.float32)
