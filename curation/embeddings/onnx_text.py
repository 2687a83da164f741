"""The text half of the model contract: a Hugging Face ``tokenizer.json`` and an ONNX text model.

The text model takes int64 ``input_ids`` ``[B, L]`` (optionally ``attention_mask`` and
``token_type_ids``) and returns ``[B, D]`` in the image model's space (``onnx_models``). A
fixed L is padded / truncated to; a sidecar ``TEXT.json`` may give ``context_length``,
``pad_id`` and ``normalize_output``. Refusals are ``ModelError`` sentences naming the file.
tokenizers is optional (the onnx extra) and imported lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curation.embeddings.onnx_common import (
    INSTALL_HINT,
    MAX_TEXT_LENGTH,
    TEXT_INPUTS,
    TEXT_KEYS,
    ModelError,
    checked_output,
    describe_inputs,
    fixed,
    session_load,
    sidecar_read,
    unit_rows,
)


def tokenizer_load(path: str | Path) -> Any:
    path = Path(path)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelError(f"Text search needs the tokenizers package: {INSTALL_HINT}.") from None
    if not path.is_file():
        raise ModelError(f"{path}: no such tokenizer file.")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelError(
            f"{path}: not a Hugging Face tokenizer.json that loads ({reason})."
        ) from None


class TextEncoder:
    """An ONNX text model and its tokenizer; ``encode`` maps strings to vectors."""

    def __init__(
        self,
        path: str | Path,
        tokenizer_path: str | Path,
        *,
        providers: Sequence[str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.tokenizer = tokenizer_load(tokenizer_path)
        self.session, self.device_note = session_load(self.path, providers)
        self.provider = str(self.session.get_providers()[0])
        inputs = {item.name: item for item in self.session.get_inputs()}
        wrong = [
            name
            for name, item in inputs.items()
            if name not in TEXT_INPUTS or item.type != "tensor(int64)" or len(item.shape) != 2
        ]
        if "input_ids" not in inputs or wrong:
            raise ModelError(
                f"{self.path}: a text model takes int64 input_ids [B, L] (and optionally "
                f"attention_mask); this one takes {describe_inputs(self.session)}."
            )
        self.input_names = [name for name in TEXT_INPUTS if name in inputs]
        self.output_name = str(self.session.get_outputs()[0].name)
        self.max_batch = fixed(inputs["input_ids"].shape[0])
        data, sidecar = sidecar_read(self.path, TEXT_KEYS)
        fixed_length = fixed(inputs["input_ids"].shape[1])
        length = data.get("context_length", fixed_length)
        if length is not None and (not isinstance(length, int) or isinstance(length, bool)):
            raise ModelError(f"{sidecar}: 'context_length' must be a whole number.")
        self.context_length: int | None = length
        padding = self.tokenizer.padding or {}
        self.pad_id = int(data.get("pad_id", padding.get("pad_id", 0)))
        self.normalize_output = bool(data.get("normalize_output", True))
        self.dimension = int(self._run(["a photo", "two words"]).shape[1])

    def tokens(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encoded = self.tokenizer.encode_batch(list(texts))
        limit = self.context_length or MAX_TEXT_LENGTH
        ids = [e.ids[:limit] for e in encoded]
        length = self.context_length or max(1, max(len(i) for i in ids))
        input_ids = np.full((len(ids), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.int64)
        for row, token_ids in enumerate(ids):
            input_ids[row, : len(token_ids)] = token_ids
            mask[row, : len(token_ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": mask * 0}
        return {name: feeds[name] for name in self.input_names}

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        step = self.max_batch or len(texts)
        parts = []
        for start in range(0, len(texts), step):
            chunk = list(texts[start : start + step])
            while len(chunk) < step and self.max_batch:  # a fixed batch: pad with copies
                chunk.append(chunk[-1])
            try:
                (output, *_) = self.session.run([self.output_name], self.tokens(chunk))
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
                raise ModelError(f"{self.path}: the model failed to run ({reason}).") from None
            parts.append(checked_output(self.path, output, len(chunk))[: len(texts) - start])
        return np.concatenate(parts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = self._run(texts)
        return unit_rows(out) if self.normalize_output else out


def text_encoder_load(
    *, text_model: str | Path, tokenizer: str | Path, providers: Sequence[str] | None = None
) -> TextEncoder:
    return TextEncoder(text_model, tokenizer, providers=providers)
