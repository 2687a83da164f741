"""The user's own ONNX encoders: loading, checking, preprocessing and running them.

The model contract (README "Your own embedding model"):

- image model: one float32 input ``[B, 3, H, W]``, first output ``[B, D]``. A JSON sidecar
  beside it (``model.json`` or ``model.onnx.json``) may give ``image_size`` (an int or
  ``[H, W]``), ``mean``, ``std`` (three numbers each, pixels scaled to 0..1 first), ``resize``
  (``"shortest_edge"``: scale the shortest edge, then centre-crop; or ``"squash"``) and
  ``normalize_output`` (default true). Without a sidecar, H and W come from the input shape
  (224 when it is dynamic) with CLIP's mean and std, and ``Preprocess.notes`` says so;
- text model: int64 ``input_ids`` ``[B, L]`` (optional ``attention_mask`` / ``token_type_ids``),
  first output ``[B, D]`` with the image model's D; its tokenizer is a Hugging Face
  ``tokenizer.json``. A fixed L is padded / truncated to; a sidecar may give
  ``context_length`` and ``pad_id``.

Every refusal is a ``ModelError`` whose message is one sentence naming the file: not ONNX,
wrong input rank or dtype (listing the model's inputs), an output that is not 2-D, NaN or
infinite outputs, differing D, a tokenizer that does not load. Checks run on load with a probe
batch, and every batch is checked again for non-finite values.

Providers: onnxruntime's CUDA provider when installed and available, else the CPU;
``provider`` names the one the session really uses, and ``device_note`` says why CUDA is not
used when it was wanted (a CUDA session that fails to start is created again on the CPU).
onnxruntime and tokenizers are optional (the ``onnx`` extra) and imported lazily; no Django
here, so benchmarks and workers can use it.
The text half is ``onnx_text``; what both share (runtime, sidecars, checks) ``onnx_common``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from curation.embeddings.onnx_common import (
    CLIP_MEAN,
    CLIP_STD,
    DEFAULT_SIZE,
    IMAGE_KEYS,
    RESIZES,
    ModelError,
    checked_output,
    describe_inputs,
    device_label,
    fixed,
    providers_available,
    session_load,
    sidecar_read,
    unit_rows,
)
from curation.embeddings.onnx_text import TextEncoder, text_encoder_load, tokenizer_load

__all__ = [  # the text half and the shared helpers live in onnx_text / onnx_common
    "ImageEncoder",
    "ModelError",
    "ModelPair",
    "Preprocess",
    "TextEncoder",
    "device_label",
    "onnx_models_load",
    "preprocess_image",
    "providers_available",
    "text_encoder_load",
    "tokenizer_load",
]


@dataclass(frozen=True)
class Preprocess:
    """How images become the model's input batch."""

    height: int
    width: int
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    resize: str = "shortest_edge"
    normalize_output: bool = True
    notes: tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "image_size": [self.height, self.width],
            "mean": list(self.mean),
            "std": list(self.std),
            "resize": self.resize,
            "normalize_output": self.normalize_output,
        }


def _triple(path: Path, key: str, value: Any) -> tuple[float, float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ModelError(f"{path}: {key!r} must be a list of three numbers.")
    if key == "std" and not all(v > 0 for v in value):
        raise ModelError(f"{path}: every 'std' value must be above 0.")
    return (float(value[0]), float(value[1]), float(value[2]))


def _size(path: Path, value: Any) -> tuple[int, int]:
    sizes = [value, value] if isinstance(value, int) else value
    if (
        not isinstance(sizes, list)
        or len(sizes) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in sizes)
    ):
        raise ModelError(f"{path}: 'image_size' must be a whole number or [height, width].")
    return int(sizes[0]), int(sizes[1])


def preprocess_image(image: Image.Image, prep: Preprocess) -> np.ndarray:
    """One image as the model's ``[3, H, W]`` float32 input (RGB, 0..1, then mean / std)."""
    rgb = image.convert("RGB")
    if prep.resize == "squash":
        rgb = rgb.resize((prep.width, prep.height), Image.Resampling.BICUBIC)
    else:
        scale = max(prep.width / rgb.width, prep.height / rgb.height)
        new_w = max(prep.width, round(rgb.width * scale))
        new_h = max(prep.height, round(rgb.height * scale))
        rgb = rgb.resize((new_w, new_h), Image.Resampling.BICUBIC)
        left, top = (new_w - prep.width) // 2, (new_h - prep.height) // 2
        rgb = rgb.crop((left, top, left + prep.width, top + prep.height))
    pixels = np.asarray(rgb, dtype=np.float32) / 255.0
    mean = np.asarray(prep.mean, dtype=np.float32)
    std = np.asarray(prep.std, dtype=np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1))


class ImageEncoder:
    """An ONNX image model checked against the contract; ``encode`` maps pixels to vectors."""

    def __init__(self, path: str | Path, *, providers: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        self.session, self.device_note = session_load(self.path, providers)
        self.provider = str(self.session.get_providers()[0])
        inputs = self.session.get_inputs()
        item = inputs[0] if len(inputs) == 1 else None
        if (
            item is None
            or item.type != "tensor(float)"
            or len(item.shape) != 4
            or fixed(item.shape[1]) not in (None, 3)
        ):
            raise ModelError(
                f"{self.path}: an image model takes one float32 input [B, 3, H, W]; this one "
                f"takes {describe_inputs(self.session)}."
            )
        self.input_name = str(item.name)
        self.max_batch = fixed(item.shape[0])
        self.output_name = str(self.session.get_outputs()[0].name)
        self.preprocess = self._preprocess(item.shape)
        probe = np.linspace(-1.0, 1.0, 3 * self.preprocess.height * self.preprocess.width)
        probe_batch = np.stack([probe, probe[::-1]]).astype(np.float32)
        rows = 2 if self.max_batch in (None, 2) else self.max_batch
        shape = (rows, 3, self.preprocess.height, self.preprocess.width)
        batch = np.resize(probe_batch, shape).astype(np.float32)
        self.dimension = int(self._run(batch).shape[1])

    def _preprocess(self, shape: Sequence[Any]) -> Preprocess:
        data, sidecar = sidecar_read(self.path, IMAGE_KEYS)
        fixed_h, fixed_w = fixed(shape[2]), fixed(shape[3])
        notes: list[str] = []
        if "image_size" in data:
            assert sidecar is not None
            height, width = _size(sidecar, data["image_size"])
            if (fixed_h and fixed_h != height) or (fixed_w and fixed_w != width):
                raise ModelError(
                    f"{sidecar}: image_size {[height, width]} differs from the model's input "
                    f"{fixed_h}x{fixed_w}."
                )
        elif fixed_h and fixed_w:
            height, width = fixed_h, fixed_w
            notes.append(f"image size {height}x{width} from the model's input shape")
        else:
            height, width = fixed_h or DEFAULT_SIZE, fixed_w or DEFAULT_SIZE
            notes.append(f"the input size is dynamic: images are resized to {height}x{width}")
        resize = data.get("resize", "shortest_edge")
        if resize not in RESIZES:
            raise ModelError(f'{sidecar}: \'resize\' must be "shortest_edge" or "squash".')
        normalize = data.get("normalize_output", True)
        if not isinstance(normalize, bool):
            raise ModelError(f"{sidecar}: 'normalize_output' must be true or false.")
        if sidecar is None:
            notes.insert(0, f"no sidecar {self.path.with_suffix('.json').name}")
            notes.append("CLIP's mean and std")
        mean = _triple(sidecar, "mean", data["mean"]) if sidecar and "mean" in data else CLIP_MEAN
        std = _triple(sidecar, "std", data["std"]) if sidecar and "std" in data else CLIP_STD
        return Preprocess(height, width, mean, std, resize, normalize, tuple(notes))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            (output, *_) = self.session.run([self.output_name], {self.input_name: batch})
        except ModelError:
            raise
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ModelError(f"{self.path}: the model failed to run ({reason}).") from None
        return checked_output(self.path, output, len(batch))

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """``[B, 3, H, W]`` preprocessed pixels -> ``[B, D]`` float32 (unit rows when the
        sidecar's ``normalize_output`` is true, the default)."""
        step = self.max_batch or len(pixels) or 1
        parts = [self._run(pixels[i : i + step]) for i in range(0, len(pixels), step)]
        out = np.concatenate(parts) if parts else np.zeros((0, self.dimension), np.float32)
        return unit_rows(out) if self.preprocess.normalize_output else out

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.encode(np.stack([preprocess_image(i, self.preprocess) for i in images]))


@dataclass(frozen=True)
class ModelPair:
    """The checked image encoder and, for text search, the text encoder of one model."""

    image: ImageEncoder
    text: TextEncoder | None

    @property
    def dimension(self) -> int:
        return self.image.dimension


def onnx_models_load(
    *,
    image_model: str | Path,
    text_model: str | Path | None = None,
    tokenizer: str | Path | None = None,
    providers: Sequence[str] | None = None,
) -> ModelPair:
    """Load and check an image model and (optional) its text model; ``ModelError`` otherwise."""
    if bool(text_model) != bool(tokenizer):
        missing = "--tokenizer (tokenizer.json)" if text_model else "--text-model (TEXT.onnx)"
        raise ModelError(f"A text model needs both a text model and a tokenizer: add {missing}.")
    image = ImageEncoder(image_model, providers=providers)
    text = None
    if text_model and tokenizer:
        text = text_encoder_load(text_model=text_model, tokenizer=tokenizer, providers=providers)
        if text.dimension != image.dimension:
            raise ModelError(
                f"{text.path}: the text model returns {text.dimension}-d vectors but the image "
                f"model {image.path.name} returns {image.dimension}-d ones; they must match."
            )
    return ModelPair(image=image, text=text)
