"""The built-in descriptor embedder and the optional torch embedder."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image, ImageFilter

from curation.embeddings.embedders import (
    DescriptorEmbedder,
    TorchScriptEmbedder,
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


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed (optional extra: pip install torch to test TorchScriptEmbedder)",
)
def test_a_torchscript_model_from_local_disk_embeds_images(tmp_path):
    import torch

    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    embedder = TorchScriptEmbedder(path, image_size=32, batch_size=2)
    images = [Image.open(make_image(tmp_path / f"{i}.png", i)) for i in range(3)]
    matrix = embedder.embed(images)
    assert matrix.shape == (3, 4) and np.isfinite(matrix).all()
    assert not np.allclose(matrix[0], matrix[1])
