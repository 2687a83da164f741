"""Tiny ONNX encoders and a tokenizer built in the test itself (no downloaded weights).

``image_model``: Conv(3 -> 4, 3x3) + ReLU + global average pool + MatMul to D (a small CNN);
``text_model``: an embedding bag (Gather over a [V, D] table, mean over the tokens);
``tokenizer_json``: a word-level tokenizer over ``WORDS``. The image and text weights are
chosen so that the word ``red`` lands near red images, ``blue`` near blue ones (text search
has a known answer): channel means of the image become the first three coordinates.
Bad variants (wrong dtype, 3-D output, NaN) for the refusal tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

WORDS = ["[PAD]", "[UNK]", "red", "green", "blue", "a", "photo", "of", "dark"]
OPSET = [helper.make_opsetid("", 17)]


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET)
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def image_model(
    path: Path,
    *,
    dimension: int = 8,
    size: int | str = 32,
    dtype: int = TensorProto.FLOAT,
    output_rank: int = 2,
    nan: bool = False,
    batch: int | str = "B",
) -> Path:
    """A small CNN: its first three output coordinates are the mean of R, G and B."""
    rng = np.random.default_rng(0)
    conv = np.zeros((4, 3, 3, 3), dtype=np.float32)
    for channel in range(3):
        conv[channel, channel, 1, 1] = 1.0  # identity on R, G, B (centre tap)
    conv[3] = rng.normal(size=(3, 3, 3)).astype(np.float32) * 0.1
    bias = np.full(4, 3.0, dtype=np.float32)  # keeps ReLU linear for normalised pixels
    project = np.zeros((4, dimension), dtype=np.float32)
    project[0, 0] = project[1, 1] = project[2, 2] = 1.0
    project[3, 3:] = rng.normal(size=dimension - 3).astype(np.float32) * 0.01
    nodes = [
        helper.make_node("Conv", ["pixels", "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "project"], ["m"]),
        helper.make_node("Sub", ["m", "offset"], ["embedding2d"]),
    ]
    offset = np.zeros(dimension, dtype=np.float32)
    offset[:3] = 3.0
    initializers = [
        numpy_helper.from_array(conv, "conv_w"),
        numpy_helper.from_array(bias, "conv_b"),
        numpy_helper.from_array(project, "project"),
        numpy_helper.from_array(offset, "offset"),
    ]
    if dtype != TensorProto.FLOAT:  # a valid model whose input has another dtype
        nodes.insert(0, helper.make_node("Cast", ["pixels"], ["pixels_f"], to=TensorProto.FLOAT))
        nodes[1].input[0] = "pixels_f"
    last = "embedding2d"
    if nan:
        nodes.append(helper.make_node("Div", ["embedding2d", "zero"], ["q"]))
        nodes.append(helper.make_node("Mul", ["q", "zero"], ["nan_out"]))
        initializers.append(numpy_helper.from_array(np.zeros(1, np.float32), "zero"))
        last = "nan_out"
    if output_rank == 3:
        nodes.append(helper.make_node("Unsqueeze", [last, "axes"], ["three_d"]))
        initializers.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
        last = "three_d"
    out_shape: list[int | str] = [batch, dimension] if output_rank == 2 else [batch, 1, dimension]
    graph = helper.make_graph(
        nodes,
        "tiny-image",
        [helper.make_tensor_value_info("pixels", dtype, [batch, 3, size, size])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, out_shape)],
        initializers,
    )
    return _save(graph, path)


def text_table(dimension: int = 8) -> np.ndarray:
    """Word vectors: ``red``/``green``/``blue`` point along coordinates 0/1/2."""
    table = np.zeros((len(WORDS), dimension), dtype=np.float32)
    for word, axis in (("red", 0), ("green", 1), ("blue", 2)):
        table[WORDS.index(word), axis] = 1.0
    rng = np.random.default_rng(1)
    for word in ("a", "photo", "of", "dark"):
        table[WORDS.index(word)] = rng.normal(size=dimension).astype(np.float32) * 0.05
    return table


def text_model(
    path: Path, *, dimension: int = 8, with_mask: bool = True, dtype: int = TensorProto.INT64
) -> Path:
    """An embedding bag: mean of the token vectors (masked when ``with_mask``)."""
    nodes = [helper.make_node("Gather", ["table", "ids"], ["vectors"], axis=0)]
    nodes.insert(0, helper.make_node("Cast", ["input_ids"], ["ids"], to=TensorProto.INT64))
    inputs = [helper.make_tensor_value_info("input_ids", dtype, ["B", "L"])]
    if with_mask:
        inputs.append(
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["B", "L"])
        )
        nodes += [
            helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["maskf", "last"], ["mask3"]),
            helper.make_node("Mul", ["vectors", "mask3"], ["masked"]),
            helper.make_node("ReduceSum", ["masked", "one"], ["summed"], keepdims=0),
            helper.make_node("ReduceSum", ["maskf", "one"], ["count"], keepdims=1),
            helper.make_node("Div", ["summed", "count"], ["text_embedding"]),
        ]
    else:
        nodes.append(
            helper.make_node("ReduceMean", ["vectors"], ["text_embedding"], axes=[1], keepdims=0)
        )
    initializers = [
        numpy_helper.from_array(text_table(dimension), "table"),
        numpy_helper.from_array(np.array([1], np.int64), "one"),
        numpy_helper.from_array(np.array([2], np.int64), "last"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-text",
        inputs,
        [helper.make_tensor_value_info("text_embedding", TensorProto.FLOAT, ["B", dimension])],
        initializers,
    )
    return _save(graph, path)


def tokenizer_json(path: Path) -> Path:
    """A word-level Hugging Face tokenizer over ``WORDS`` (lower-cased, split on spaces)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(path))
    return path


def sidecar(model: Path, **values: object) -> Path:
    path = model.with_suffix(".json")
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def model_files(folder: Path, *, dimension: int = 8, size: int = 32) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "image": image_model(folder / "image.onnx", dimension=dimension, size=size),
        "text": text_model(folder / "text.onnx", dimension=dimension),
        "tokenizer": tokenizer_json(folder / "tokenizer.json"),
    }


COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (30, 40, 220),
    "dark-red": (120, 10, 10),
    "teal": (20, 150, 160),
    "purple": (150, 20, 170),
}


def colour_images(dataset: Any, folder: Path, repeat: int = 1) -> list[int]:
    """Flat-coloured images (``COLOURS``, slightly varied) as samples of ``dataset``, which gets
    ``folder`` as its image root; returns the sample ids in creation order."""
    from curation.models import Sample  # Django models: only once the test database is up

    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for copy in range(repeat):
        for name, (r, g, b) in COLOURS.items():
            file_name = f"{name}-{copy}.png"
            pixels = np.zeros((30, 40, 3), dtype=np.uint8)
            pixels[...] = (min(r + copy * 7, 255), g, min(b + copy * 3, 255))
            pixels[:5, :5] = (255, 255, 255)  # a corner, so no two images are identical
            Image.fromarray(pixels, mode="RGB").save(folder / file_name)
            ids.append(Sample.objects.create(dataset=dataset, file_name=file_name).pk)
    dataset.image_root = str(folder)
    dataset.save(update_fields=["image_root"])
    return ids
