"""Images per second through a small ONNX CNN at 224 px, the way the embed job runs it.

Part of ``manage.py benchmark --suite ingest``. A 3-layer CNN (3 -> 16 -> 32 -> 64 channels,
stride 2 each, then global pooling and a 64 -> 128 projection: about 70 MFLOP-multiply-adds per
image) is written as ONNX into the benchmark's temporary folder; JPEGs of 320 x 240 are decoded,
resized (shortest edge + centre crop to 224) and encoded in batches by
``embeddings.compute.image_batches`` + ``ImageEncoder.encode`` (the job's code path, without
the database), and the model alone is timed on the same preprocessed batch. Building the model
needs the ``onnx`` package (the dev extra) and running it onnxruntime (the onnx extra); without
them the line says so and the suite goes on. A few seconds by default.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from curation.embeddings.compute import folder_paths, image_batches
from curation.embeddings.onnx_models import ImageEncoder, ModelError, device_label

SIZE = 224
BATCH = 32


def cnn_write(path: Path, dimension: int = 128) -> Path:
    """The benchmark's CNN as an ONNX file (needs the ``onnx`` package)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, weights, previous, channels = [], [], "pixels", 3
    for layer, out in enumerate((16, 32, 64)):
        w = (rng.standard_normal((out, channels, 3, 3)) / np.sqrt(9 * channels)).astype(np.float32)
        weights += [numpy_helper.from_array(w, f"w{layer}")]
        weights += [numpy_helper.from_array(np.zeros(out, np.float32), f"b{layer}")]
        nodes.append(
            helper.make_node(
                "Conv",
                [previous, f"w{layer}", f"b{layer}"],
                [f"c{layer}"],
                strides=[2, 2],
                pads=[1, 1, 1, 1],
            )
        )
        nodes.append(helper.make_node("Relu", [f"c{layer}"], [f"r{layer}"]))
        previous, channels = f"r{layer}", out
    project = (rng.standard_normal((channels, dimension)) / 8).astype(np.float32)
    weights.append(numpy_helper.from_array(project, "project"))
    nodes += [
        helper.make_node("GlobalAveragePool", [previous], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "project"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "bench-cnn",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["B", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["B", dimension])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _jpegs(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    names = []
    for i in range(count):
        image = Image.fromarray(np.roll(base, i, axis=1)).resize((320, 240))
        image.save(folder / f"im_{i:05d}.jpg", quality=85)
        names.append(f"im_{i:05d}.jpg")
    return names


def run_onnx_ingest(stdout: Any, root: Path, quick: bool) -> None:
    """Print images/s through the CNN (the job's decode + preprocess + encode, and the model
    alone)."""
    count = 64 if quick else 256
    try:
        encoder = ImageEncoder(cnn_write(root / "bench-cnn.onnx"))
    except ImportError:
        stdout.write("  ONNX embedding: skipped (building the model needs the onnx package)")
        return
    except ModelError as exc:
        stdout.write(f"  ONNX embedding: skipped ({exc})")
        return
    names = _jpegs(root / "onnx-images", count)
    started = time.perf_counter()
    rows = sum(
        len(encoder.encode(b))
        for b in image_batches(encoder, folder_paths(str(root / "onnx-images"), names), BATCH)
    )
    pipeline = time.perf_counter() - started
    batch = next(
        image_batches(encoder, folder_paths(str(root / "onnx-images"), names[:BATCH]), BATCH)
    )
    encoder.encode(batch)  # warm-up
    started = time.perf_counter()
    repeats = max(1, count // BATCH)
    for _ in range(repeats):
        encoder.encode(batch)
    model_only = time.perf_counter() - started
    device = device_label(encoder.provider)
    stdout.write(
        f"  ONNX CNN at {SIZE} px on {device}, {rows} JPEGs (320x240), batch {BATCH}: "
        f"{rows / pipeline:,.0f} images/s decode+preprocess+encode, "
        f"{repeats * len(batch) / model_only:,.0f} images/s model alone"
    )
