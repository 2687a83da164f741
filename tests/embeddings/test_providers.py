"""The device choice without a GPU: onnxruntime's provider list and session are faked at the
runtime's edge (``get_available_providers`` / ``InferenceSession``), so CUDA is chosen when
listed and named in the job's message, and a CUDA session that fails falls back to the CPU with
a sentence."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime
import pytest

from curation.embeddings.compute import embed_job_start
from curation.embeddings.onnx_models import ImageEncoder, ModelError, providers_available
from curation.embeddings.onnx_text import TextEncoder
from curation.models import Job
from tests.support.onnx_models import colour_images, model_files

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
RealSession = onnxruntime.InferenceSession


class FakeCudaSession:
    """A real CPU session that reports CUDA first when CUDA was asked for (as onnxruntime-gpu
    does on a machine with a GPU); ``fail`` raises instead, as a broken CUDA install does."""

    requested: list[list[str]] = []
    fail = False

    def __init__(self, path: str, sess_options: Any = None, providers: Any = None) -> None:
        wanted = list(providers or [CPU])
        FakeCudaSession.requested.append(wanted)
        if CUDA in wanted and FakeCudaSession.fail:
            raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected\nmore")
        self._session = RealSession(path, sess_options=sess_options, providers=[CPU])
        self._providers = [p for p in wanted if p in (CUDA, CPU)]

    def get_providers(self) -> list[str]:
        return self._providers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


@pytest.fixture
def models(tmp_path):
    return model_files(tmp_path / "models")


@pytest.fixture
def gpu(monkeypatch):
    """onnxruntime as it looks with onnxruntime-gpu and a GPU."""
    FakeCudaSession.requested = []
    FakeCudaSession.fail = False
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(onnxruntime, "InferenceSession", FakeCudaSession)
    return FakeCudaSession


def test_cuda_is_chosen_first_when_listed(monkeypatch) -> None:
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["Azure", CPU, CUDA])
    assert providers_available() == [CUDA, CPU]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["Azure", CPU])
    assert providers_available() == [CPU]


def test_the_encoders_run_on_cuda_when_it_starts(gpu, models) -> None:
    image = ImageEncoder(models["image"])
    text = TextEncoder(models["text"], models["tokenizer"])
    assert (image.provider, image.device_note) == (CUDA, "")
    assert (text.provider, text.device_note) == (CUDA, "")
    assert gpu.requested[0] == [CUDA, CPU]


def test_a_cuda_session_that_fails_falls_back_to_the_cpu_with_a_sentence(gpu, models) -> None:
    gpu.fail = True
    encoder = ImageEncoder(models["image"])
    assert encoder.provider == CPU
    assert encoder.device_note == (
        "the CUDA provider could not start (CUDA failure 100: no CUDA-capable device is "
        "detected), so the model runs on the CPU"
    )
    assert gpu.requested[:2] == [[CUDA, CPU], [CPU]]
    vectors = encoder.encode(np.zeros((1, 3, 32, 32), dtype=np.float32))
    assert vectors.shape == (1, 8)


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider'")
def test_a_quiet_cpu_fallback_is_noted(monkeypatch, models) -> None:
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    encoder = ImageEncoder(models["image"])  # the real CPU-only runtime ignores CUDA
    assert encoder.provider == CPU
    assert encoder.device_note == (
        "the CUDA provider is installed but did not start, so the model runs on the CPU"
    )


def test_a_file_the_cpu_cannot_load_either_is_refused(gpu, tmp_path) -> None:
    gpu.fail = True
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"bad.onnx: not a usable ONNX model \("):
        ImageEncoder(bad)


@pytest.mark.django_db
class TestEmbedJobDevice:
    def _start(self, dataset, alice, models):
        return embed_job_start(
            dataset=dataset, user=alice, name="clip", image_model=models["image"],
            text_model=models["text"], tokenizer=models["tokenizer"], execute="inline",
        )  # fmt: skip

    def test_the_job_says_gpu_cuda(self, gpu, dataset, alice, models, tmp_path) -> None:
        colour_images(dataset, tmp_path / "images")
        job = self._start(dataset, alice, models)
        assert job.status == Job.Status.SUCCEEDED, job.error
        assert job.summary["device"] == "GPU (CUDA)" and "device_note" not in job.summary
        assert job.message == "Stored 6 vectors of 8 dimensions in 'clip' (computed on GPU (CUDA))."

    def test_the_job_says_why_it_ran_on_the_cpu(
        self, gpu, dataset, alice, models, tmp_path
    ) -> None:
        gpu.fail = True
        colour_images(dataset, tmp_path / "images")
        job = self._start(dataset, alice, models)
        assert job.status == Job.Status.SUCCEEDED, job.error
        assert job.summary["device"] == "CPU"
        assert job.message == (
            "Stored 6 vectors of 8 dimensions in 'clip' (computed on CPU). The CUDA provider "
            "could not start (CUDA failure 100: no CUDA-capable device is detected), so the "
            "model runs on the CPU."
        )
