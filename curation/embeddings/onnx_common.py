"""What the ONNX image and text encoders share: the runtime, providers, sidecars, checks.

onnxruntime is optional (the ``onnx`` extra) and imported lazily by :func:`onnx_runtime`;
every refusal is a ``ModelError`` whose message is one sentence naming the file. No Django.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_SIZE = 224
RESIZES = ("shortest_edge", "squash")
IMAGE_KEYS = frozenset({"image_size", "mean", "std", "resize", "normalize_output"})
TEXT_KEYS = frozenset({"context_length", "pad_id", "normalize_output"})
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MAX_TEXT_LENGTH = 512
INSTALL_HINT = "install the onnx extra: pip install 'curation[onnx]'"


class ModelError(ValueError):
    """A model, sidecar or tokenizer that cannot be used; one sentence naming the file."""


def onnx_runtime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ModelError(f"Running ONNX models needs onnxruntime: {INSTALL_HINT}.") from None
    onnxruntime.set_default_logger_severity(3)
    return onnxruntime


CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def providers_available() -> list[str]:
    """CUDA first when onnxruntime offers it, then the CPU."""
    available = set(onnx_runtime().get_available_providers())
    wanted = [CUDA, CPU]
    return [p for p in wanted if p in available] or [CPU]


def device_label(provider: str) -> str:
    return "GPU (CUDA)" if provider == CUDA else "CPU"


def sidecar_path(model_path: Path) -> Path | None:
    """``model.json`` or ``model.onnx.json`` beside the model, if one exists."""
    for candidate in (model_path.with_suffix(".json"), Path(f"{model_path}.json")):
        if candidate != model_path and candidate.is_file():
            return candidate
    return None


def sidecar_read(model_path: Path, allowed: frozenset[str]) -> tuple[dict[str, Any], Path | None]:
    path = sidecar_path(model_path)
    if path is None:
        return {}, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: the sidecar is not readable JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: the sidecar must be a JSON object.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ModelError(
            f"{path}: unknown sidecar key {unknown[0]!r} (known: {', '.join(sorted(allowed))})."
        )
    return data, path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def session_load(path: Path, providers: Sequence[str] | None) -> tuple[Any, str]:
    """The inference session and a note (empty, or one clause saying why CUDA is not used).

    A session that cannot be created with the CUDA provider (driver, library or memory trouble)
    is created again on the CPU, and the note says so; a model the CPU cannot load either is a
    ``ModelError``. A session onnxruntime quietly put on the CPU although CUDA was asked for is
    noted too. ``provider`` of the encoders names the provider really used."""
    runtime = onnx_runtime()
    if not path.is_file():
        raise ModelError(f"{path}: no such model file.")
    options = runtime.SessionOptions()
    options.log_severity_level = 3
    wanted = list(providers or providers_available())
    note = ""
    try:
        session = runtime.InferenceSession(str(path), sess_options=options, providers=wanted)
    except Exception as exc:
        if CUDA not in wanted:
            raise ModelError(f"{path}: not a usable ONNX model ({_first_line(exc)}).") from None
        cpu_only = [p for p in wanted if p != CUDA] or [CPU]
        try:
            session = runtime.InferenceSession(str(path), sess_options=options, providers=cpu_only)
        except Exception as cpu_exc:
            reason = _first_line(cpu_exc)
            raise ModelError(f"{path}: not a usable ONNX model ({reason}).") from None
        note = (
            f"the CUDA provider could not start ({_first_line(exc)}), so the model runs on the CPU"
        )
    else:
        if CUDA in wanted and str(session.get_providers()[0]) != CUDA:
            note = "the CUDA provider is installed but did not start, so the model runs on the CPU"
    return session, note


def describe_inputs(session: Any) -> str:
    parts = []
    for item in session.get_inputs():
        dtype = str(item.type).removeprefix("tensor(").removesuffix(")")
        dtype = {"float": "float32", "double": "float64"}.get(dtype, dtype)
        shape = ", ".join(str(d) if d not in (None, "") else "?" for d in item.shape)
        parts.append(f"{item.name} {dtype} [{shape}]")
    return "; ".join(parts) or "none"


def fixed(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def checked_output(path: Path, output: Any, rows: int) -> np.ndarray:
    array = np.asarray(output)
    if array.ndim != 2 or array.shape[0] != rows or array.shape[1] == 0:
        raise ModelError(
            f"{path}: the model's first output must be 2-D [B, D], not {list(array.shape)}."
        )
    if not np.isfinite(array).all():
        raise ModelError(f"{path}: the model produced NaN or infinite values.")
    return np.asarray(array, dtype=np.float32)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)
