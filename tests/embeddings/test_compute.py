"""The embed job: exact vectors, progress, cancel, all or nothing, the map, the CLI."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import onnxruntime
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command
from PIL import Image

from curation.embeddings import compute
from curation.embeddings.compute import EmbedError, embed_job_execute, embed_job_start
from curation.embeddings.onnx_models import ImageEncoder, preprocess_image
from curation.models import EmbeddingSpace, Job, Sample
from curation.realtime.job_events import job_group_name
from curation.storage.embeddings import embedding_space_load, embedding_space_store
from curation.storage.frames import sample_file_path
from tests.support.onnx_models import colour_images, image_model, model_files
from tests.support.video_rows import video_with_frames


async def _drain(layer: Any, channel: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), 0.2))
        except TimeoutError:
            return messages


@pytest.fixture
def models(tmp_path):
    return model_files(tmp_path / "models")


@pytest.fixture
def coloured(dataset, tmp_path):
    return colour_images(dataset, tmp_path / "images")


def _start(dataset, alice, models, **kwargs):
    paths = {"image_model": models["image"], "text_model": models["text"]}
    paths["tokenizer"] = models["tokenizer"]
    return embed_job_start(
        dataset=dataset, user=alice, name=kwargs.pop("name", "clip"), **{**paths, **kwargs}
    )


@pytest.mark.django_db
class TestEmbedJob:
    def test_vectors_equal_onnxruntime_on_the_same_pixels(
        self, dataset, alice, models, coloured
    ) -> None:
        job = _start(dataset, alice, models, batch_size=4, execute="inline")
        assert job.status == Job.Status.SUCCEEDED, job.error
        assert "on CPU" in job.message and job.summary["device"] == "CPU"
        space = EmbeddingSpace.objects.get(dataset=dataset, name="clip")
        assert space.source["kind"] == "onnx" and space.source["text_model"]
        loaded = embedding_space_load(space)
        assert loaded.sample_ids.tolist() == coloured
        session = onnxruntime.InferenceSession(str(models["image"]))
        prep = ImageEncoder(models["image"]).preprocess
        names = Sample.objects.filter(pk__in=coloured).order_by("pk").values_list("file_name")
        pixels = np.stack(
            [preprocess_image(Image.open(dataset.image_root + "/" + n), prep) for (n,) in names]
        )
        expected = session.run(None, {"pixels": pixels})[0]
        expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
        np.testing.assert_allclose(np.asarray(loaded.matrix), expected, rtol=1e-5, atol=1e-6)
        space.refresh_from_db()
        assert space.projection is not None  # the map was scheduled (small: computed now)

    def test_progress_is_reported_per_batch(self, dataset, alice, models, coloured) -> None:
        seen: list[tuple[str, int, int]] = []
        compute.PROGRESS_SECONDS, saved = 0.0, compute.PROGRESS_SECONDS
        try:
            _start(
                dataset,
                alice,
                models,
                batch_size=2,
                execute="inline",
                progress=lambda job: seen.append((job.stage, job.done, job.total)),
            )
        finally:
            compute.PROGRESS_SECONDS = saved
        embedding = [done for stage, done, _ in seen if stage == "embedding"]
        assert embedding == [0, 2, 4, 6]
        assert seen[-1][0] == ""  # the finished job

    @pytest.mark.django_db(transaction=True)  # pushes go out as each step commits
    def test_progress_is_pushed_over_the_websocket(self, dataset, alice, models, coloured):
        layer = get_channel_layer()
        job = _start(dataset, alice, models, batch_size=3)
        async_to_sync(layer.group_add)(job_group_name(job.pk), "watcher")
        compute.PROGRESS_SECONDS, saved = 0.0, compute.PROGRESS_SECONDS
        try:
            embed_job_execute(job_id=job.pk)
        finally:
            compute.PROGRESS_SECONDS = saved
        pushed = [m["html"] for m in async_to_sync(_drain)(layer, "watcher")]
        assert any("embedding (3 of 6)" in html for html in pushed)
        assert "Succeeded" in pushed[-1] and 'id="job-progress"' in pushed[-1]

    def test_the_job_page_says_what_failed(self, client, dataset, alice, coloured, tmp_path):
        bad = image_model(tmp_path / "nan.onnx", nan=True)
        job = embed_job_start(
            dataset=dataset, user=alice, name="x", image_model=bad, execute="inline"
        )
        client.force_login(alice)
        page = client.get(f"/jobs/{job.pk}/").content.decode()
        assert "Computing embeddings failed: " in page and "NaN or infinite" in page

    def test_cancel_between_batches_keeps_the_old_space(
        self, dataset, alice, models, coloured
    ) -> None:
        old = embedding_space_store(
            dataset=dataset, name="clip", matrix=np.eye(6, 3), sample_ids=np.array(coloured)
        )
        compute.PROGRESS_SECONDS, saved = 0.0, compute.PROGRESS_SECONDS

        def cancel(job: Job) -> None:
            if job.stage == "embedding" and job.done >= 2:
                Job.objects.filter(pk=job.pk).update(cancel_requested=True)

        try:
            job = _start(dataset, alice, models, batch_size=2, execute="inline", progress=cancel)
        finally:
            compute.PROGRESS_SECONDS = saved
        assert job.status == Job.Status.CANCELLED
        assert "the space 'clip' was not changed" in job.message
        space = EmbeddingSpace.objects.get(dataset=dataset, name="clip")
        assert space.storage_key == old.storage_key and space.dimension == 3

    def test_ctrl_c_cancels_the_job_and_stops(self, dataset, alice, models, coloured) -> None:
        def interrupt(job: Job) -> None:
            if job.stage == "embedding" and job.done:
                raise KeyboardInterrupt

        compute.PROGRESS_SECONDS, saved = 0.0, compute.PROGRESS_SECONDS
        try:
            with pytest.raises(KeyboardInterrupt):
                _start(dataset, alice, models, batch_size=2, execute="inline", progress=interrupt)
        finally:
            compute.PROGRESS_SECONDS = saved
        job = Job.objects.get(kind=Job.Kind.EMBED)
        assert job.status == Job.Status.CANCELLED and job.message.startswith("Interrupted;")
        assert not EmbeddingSpace.objects.exists()

    def test_a_failure_writes_nothing(self, dataset, alice, models, coloured, tmp_path) -> None:
        (tmp_path / "images" / "blue-0.png").write_bytes(b"not an image")
        job = _start(dataset, alice, models, execute="inline")
        assert job.status == Job.Status.FAILED
        assert job.error.startswith("The image 'blue-0.png' cannot be read")
        assert "the space 'clip' was not changed" in job.error
        assert not EmbeddingSpace.objects.filter(dataset=dataset).exists()
        assert not list((tmp_path / "embeddings").rglob("*.npy"))

    def test_nan_output_fails_the_job_naming_the_model(
        self, dataset, alice, coloured, tmp_path
    ) -> None:
        bad = image_model(tmp_path / "nan.onnx", nan=True)
        job = embed_job_start(
            dataset=dataset, user=alice, name="x", image_model=bad, execute="inline"
        )
        assert job.status == Job.Status.FAILED
        assert f"{bad}: the model produced NaN or infinite values" in job.error

    def test_a_queued_job_runs_on_a_worker(self, dataset, alice, models, coloured) -> None:
        job = _start(dataset, alice, models)
        assert job.status == Job.Status.QUEUED and job.kind == Job.Kind.EMBED
        finished = embed_job_execute(job_id=job.pk)
        assert finished is not None and finished.status == Job.Status.SUCCEEDED
        assert embed_job_execute(job_id=job.pk) is None  # claimed once

    @pytest.mark.parametrize(
        "kwargs,message",
        [
            ({"name": "bad name"}, "The space name 'bad name' must be"),
            ({"batch_size": 0}, "batch_size must be between 1 and 1024"),
            ({"tokenizer": None}, "A text model needs its tokenizer.json too"),
        ],
    )
    def test_bad_requests_record_nothing(
        self, dataset, alice, models, coloured, kwargs, message
    ) -> None:
        with pytest.raises(EmbedError, match=message):
            _start(dataset, alice, models, **kwargs)
        assert not Job.objects.exists()

    def test_a_second_job_for_the_same_space_is_refused(
        self, dataset, alice, models, coloured
    ) -> None:
        first = _start(dataset, alice, models)
        with pytest.raises(EmbedError, match=f"Job {first.pk} is already computing"):
            _start(dataset, alice, models)


@pytest.mark.django_db
class TestEmbedCommand:
    def test_it_embeds_with_paths_and_reports_the_device(
        self, dataset, models, coloured, capsys
    ) -> None:
        call_command(
            "embed",
            dataset.name,
            "--model",
            str(models["image"]),
            "--name",
            "clip",
            "--batch-size",
            "4",
            "--text-model",
            str(models["text"]),
            "--tokenizer",
            str(models["tokenizer"]),
        )
        out = capsys.readouterr().out
        assert "Stored 6 vectors of 8 dimensions in 'clip' (computed on CPU)" in out
        assert EmbeddingSpace.objects.get(dataset=dataset, name="clip").count == 6

    def test_a_bad_model_exits_with_one_line(self, dataset, coloured, tmp_path) -> None:
        bad = tmp_path / "bad.onnx"
        bad.write_bytes(b"definitely not protobuf")
        with pytest.raises(CommandError, match=f"failed: {bad}: not a usable ONNX model"):
            call_command("embed", dataset.name, "--model", str(bad), "--name", "x")
        assert not EmbeddingSpace.objects.exists()

    def test_an_unknown_dataset_or_model_is_one_line(self, dataset, tmp_path) -> None:
        with pytest.raises(CommandError, match="No dataset named 'nope'"):
            call_command("embed", "nope", "--model", "m.onnx", "--name", "x")
        with pytest.raises(CommandError, match="no such model file and no registered model"):
            call_command("embed", dataset.name, "--model", str(tmp_path / "m.onnx"), "--name", "x")


@pytest.mark.django_db
def test_video_frames_are_embedded_from_the_frames_store(dataset, alice, models) -> None:
    """Frame samples live in the frames store, not below the image folder: the job reads them
    there (a dataset of video frames alone needs no image folder)."""
    dataset.image_root = ""
    dataset.save(update_fields=["image_root"])
    _video, frames = video_with_frames(dataset, "clips/a.mp4", frames=3)
    job = _start(dataset, alice, models, batch_size=2, execute="inline")
    assert job.status == Job.Status.SUCCEEDED, job.error
    loaded = embedding_space_load(EmbeddingSpace.objects.get(dataset=dataset, name="clip"))
    assert sorted(loaded.sample_ids.tolist()) == sorted(f.pk for f in frames)
    prep = ImageEncoder(models["image"]).preprocess
    session = onnxruntime.InferenceSession(str(models["image"]))
    pixels = np.stack([preprocess_image(Image.open(sample_file_path(f)), prep) for f in frames])
    expected = session.run(None, {"pixels": pixels})[0]
    expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    order = np.argsort([f.pk for f in frames])
    np.testing.assert_allclose(np.asarray(loaded.matrix), expected[order], rtol=1e-5, atol=1e-6)
