"""Embedders: turn images into vectors when a dataset arrives without embeddings.

``DescriptorEmbedder`` (built in, no weights, no downloads) describes an image by hand-made
features; it sees colour, layout, edges and texture orientation, and nothing semantic: two photos
of different dogs on grass look alike to it, a dog on grass and the same dog on snow do not. It is
good enough to spread a selection over visually different images (diversity), to find
near-duplicates and to group images shot under similar conditions, and a poor substitute for a
learned model when classes matter: for that, export your model to ONNX and compute a space with
it (``curation.embeddings.onnx_models`` and ``compute``: ``manage.py embed``, the dataset's
embeddings page, the API and the client), which also gives text search.

The module imports no Django, so import worker processes can compute descriptors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

DESCRIPTOR_SIDE = 64
BUILTIN_DIMENSION = 64  # after PCA
_HSV_BINS = (8, 4, 4)
_ORIENTATIONS = 8


class Embedder(Protocol):
    """Anything that maps images to an (N, D) float32 matrix, one row per image, in order."""

    name: str

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray: ...


def _unit(block: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(block))
    return block / norm if norm > 0 else block


def image_descriptor(image: Image.Image) -> np.ndarray:
    """A fixed 280-d description of one image (each block unit length, so they weigh the same):

    - HSV colour histogram, 8 hue x 4 saturation x 4 value bins (128, square-rooted),
    - colour layout: mean RGB of a 4 x 4 grid (48),
    - edge-orientation histograms (8 unsigned orientations, magnitude weighted) of the whole
      image and of its 2 x 2 quarters (40, square-rooted),
    - an 8 x 8 greyscale thumbnail, mean-centred (64).
    """
    rgb = image.convert("RGB").resize((DESCRIPTOR_SIDE, DESCRIPTOR_SIDE), Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.float32) / 255.0

    hsv = np.asarray(rgb.convert("HSV"), dtype=np.int32)
    h = hsv[..., 0] * _HSV_BINS[0] // 256
    s = hsv[..., 1] * _HSV_BINS[1] // 256
    v = hsv[..., 2] * _HSV_BINS[2] // 256
    flat = (h * _HSV_BINS[1] + s) * _HSV_BINS[2] + v
    colour = np.bincount(flat.ravel(), minlength=int(np.prod(_HSV_BINS))).astype(np.float32)
    colour = _unit(np.sqrt(colour / colour.sum()))

    cell = DESCRIPTOR_SIDE // 4
    layout = _unit(pixels.reshape(4, cell, 4, cell, 3).mean(axis=(1, 3)).ravel())

    grey = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gy, gx = np.gradient(grey)
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((angle / np.pi * _ORIENTATIONS).astype(np.int32), _ORIENTATIONS - 1)
    half = DESCRIPTOR_SIDE // 2
    edge_blocks = [np.bincount(bins.ravel(), magnitude.ravel(), _ORIENTATIONS)]
    for rows in (slice(0, half), slice(half, None)):
        for cols in (slice(0, half), slice(half, None)):
            edge_blocks.append(
                np.bincount(bins[rows, cols].ravel(), magnitude[rows, cols].ravel(), _ORIENTATIONS)
            )
    edges = _unit(np.sqrt(np.concatenate(edge_blocks).astype(np.float32)))

    tiny_cell = DESCRIPTOR_SIDE // 8
    tiny = grey.reshape(8, tiny_cell, 8, tiny_cell).mean(axis=(1, 3)).ravel()
    tiny = _unit(tiny - tiny.mean())

    return np.concatenate([colour, layout, edges, tiny]).astype(np.float32)


def descriptors_reduce(descriptors: np.ndarray, dimension: int = BUILTIN_DIMENSION) -> np.ndarray:
    """PCA of the descriptors of one dataset down to ``dimension`` (fitted on those images, so
    the axes depend on the set; distances between images are what matters)."""
    matrix = np.asarray(descriptors, dtype=np.float64)
    components = min(dimension, matrix.shape[0], matrix.shape[1])
    if components < 2:
        return matrix.astype(np.float32)
    from sklearn.decomposition import PCA

    with np.errstate(invalid="ignore", divide="ignore"):  # identical images: zero variance
        pca = PCA(n_components=components, svd_solver="full", random_state=0)
        reduced = pca.fit_transform(matrix)
    return np.asarray(reduced, dtype=np.float32)


class DescriptorEmbedder:
    """The built-in embedder: ``image_descriptor`` per image, then PCA over the batch."""

    name = "builtin"

    def __init__(self, dimension: int = BUILTIN_DIMENSION) -> None:
        self.dimension = dimension

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return descriptors_reduce(np.stack([image_descriptor(i) for i in images]), self.dimension)


def embed_files(embedder: Embedder, paths: Sequence[Path], batch_size: int = 64) -> np.ndarray:
    """Run any embedder over image files, a batch at a time (files must be readable). The
    descriptor embedder's PCA is fitted once over all files, not per batch."""
    builtin = isinstance(embedder, DescriptorEmbedder)
    rows = []
    for start in range(0, len(paths), batch_size):
        images = []
        for path in paths[start : start + batch_size]:
            with Image.open(path) as image:
                image.load()
                images.append(image.copy())
        rows.append(
            np.stack([image_descriptor(i) for i in images]) if builtin else embedder.embed(images)
        )
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    matrix = np.concatenate(rows)
    if builtin:
        assert isinstance(embedder, DescriptorEmbedder)
        return descriptors_reduce(matrix, embedder.dimension)
    return matrix
