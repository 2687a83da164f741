"""The built-in descriptor embedder (learned models: ONNX, ``test_onnx_models.py``)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from curation.embeddings.embedders import (
    DescriptorEmbedder,
    embed_files,
    image_descriptor,
)
from tests.support.ingest import make_image


def gradient(colour: tuple[int, int, int], horizontal: bool) -> Image.Image:
    ramp = np.linspace(0.2, 1.0, 64)
    grid = np.tile(ramp, (64, 1)) if horizontal else np.tile(ramp[:, None], (1, 64))
    pixels = (grid[..., None] * np.array(colour)[None, None, :]).astype(np.uint8)
    return Image.fromarray(pixels, mode="RGB")


def test_the_descriptor_is_fixed_size_finite_and_deterministic(tmp_path):
    image = Image.open(make_image(tmp_path / "a.png", 3, size=(123, 77)))
    first = image_descriptor(image)
    assert first.shape == (280,) and first.dtype == np.float32
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, image_descriptor(image.copy()))
    grey = image_descriptor(Image.new("L", (10, 10), 128))  # flat, greyscale, tiny
    assert np.isfinite(grey).all()


def test_similar_images_are_closer_than_different_ones():
    red = gradient((220, 30, 30), horizontal=True)
    red_blurred = red.filter(ImageFilter.GaussianBlur(1)).resize((80, 60))
    blue_vertical = gradient((30, 30, 220), horizontal=False)
    d = {
        name: image_descriptor(i)
        for name, i in [("r", red), ("rb", red_blurred), ("b", blue_vertical)]
    }
    assert np.linalg.norm(d["r"] - d["rb"]) < 0.5 * np.linalg.norm(d["r"] - d["b"])


def test_the_descriptor_embedder_reduces_with_pca(tmp_path):
    paths = [make_image(tmp_path / f"{i}.png", i) for i in range(12)]
    matrix = embed_files(DescriptorEmbedder(dimension=8), paths, batch_size=5)
    assert matrix.shape == (12, 8) and matrix.dtype == np.float32
    assert np.isfinite(matrix).all()
    assert DescriptorEmbedder().embed([]).shape == (0, 64)
