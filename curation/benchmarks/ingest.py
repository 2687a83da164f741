"""Import benchmark: a Lightly embeddings CSV plus a metadata CSV for N samples (no pixels), and
an image folder (built-in metadata and thumbnails in worker processes).

Targets on a 2-core machine: 100k x 512 embeddings CSV + metadata CSV <= 60 s; 10k small images
<= 60 s. The data are generated in a temporary folder; the import runs against the configured
database into a throwaway dataset that is deleted afterwards. Then a 10-minute 720p video at
the default rate and at every frame (``ingest_video``; 1 minute under ``--quick``). Last, images
per second through a small ONNX CNN at 224 px (``onnx_ingest``).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.contrib.auth import get_user_model
from django.db import connection
from PIL import Image

from curation.benchmarks.ingest_video import run_video_ingest
from curation.benchmarks.onnx_ingest import run_onnx_ingest
from curation.datasets.services import dataset_create, dataset_delete
from curation.imports.services import dataset_import
from curation.models import Dataset

TARGET_SECONDS = 60.0


def _write_embeddings_csv(path: Path, names: list[str], dim: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((len(names), dim), dtype=np.float32)
    columns: dict[str, Any] = {"filenames": pa.array(names)}
    for i in range(dim):
        columns[f"embedding_{i}"] = pa.array(matrix[:, i])
    columns["masked"] = pa.array((rng.random(len(names)) < 0.01).astype(np.int8))
    columns["selected"] = pa.array((rng.random(len(names)) < 0.01).astype(np.int8))
    columns["labels"] = pa.array(rng.integers(0, 10, len(names)))
    with open(path, "wb") as handle:
        handle.write((",".join(columns) + "\n").encode())
        pa_csv.write_csv(
            pa.table(columns),
            handle,
            write_options=pa_csv.WriteOptions(include_header=False, quoting_style="none"),
        )


def _write_metadata_csv(path: Path, names: list[str], seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    weather = np.array(["sunny", "cloudy", "rain", "snow"])[rng.integers(0, 4, len(names))]
    table = pa.table(
        {
            "file_name": names,
            "weather.description": weather,
            "speed": rng.random(len(names)) * 100,
            "frame": np.arange(len(names)),
            "night": np.where(rng.random(len(names)) < 0.3, "true", "false"),
        }
    )
    with open(path, "wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode())
        pa_csv.write_csv(
            table,
            handle,
            write_options=pa_csv.WriteOptions(include_header=False, quoting_style="none"),
        )


def _write_images(folder: Path, count: int, size: tuple[int, int] = (160, 120)) -> None:
    rng = np.random.default_rng(2)
    base = rng.integers(0, 256, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    for i in range(count):
        sub = folder / f"part_{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        tile = np.roll(base, i, axis=1)
        image = Image.fromarray(tile).resize(size, Image.Resampling.BILINEAR)
        image.save(sub / f"img_{i:06d}.jpg", quality=85)


def _owner() -> tuple[Any, bool]:
    User = get_user_model()
    user = User.objects.order_by("pk").first()
    if user is not None:
        return user, False
    return User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}"), True


def _line(stdout: Any, label: str, seconds: float, detail: str, target: float | None) -> None:
    verdict = ""
    if target is not None:
        verdict = "  ok" if seconds <= target else f"  SLOWER than the {target:.0f} s target"
    stdout.write(f"  {label:<44} {seconds:8.1f} s  {detail}{verdict}")


def _phases(stdout: Any, phases: dict[str, float]) -> None:
    steps = ", ".join(
        f"{name} {seconds:.1f}" for name, seconds in phases.items() if seconds >= 0.05
    )
    stdout.write(f"    phases (s): {steps}")


def run_ingest_benchmark(stdout: Any, quick: bool) -> None:
    """Print the import figures (quick: 10k samples x 128-d and 1k images)."""
    samples, dim, images = (10_000, 128, 1_000) if quick else (100_000, 512, 10_000)
    vendor = connection.vendor
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    stdout.write(f"Import benchmark ({vendor}, {os.cpu_count()} CPUs, load average {load:.1f})")
    owner, temporary_owner = _owner()
    with tempfile.TemporaryDirectory(prefix="curation-bench-") as tmp:
        root = Path(tmp)
        names = [f"seq_{i // 1000:03d}/frame_{i:07d}.jpg" for i in range(samples)]
        started = time.perf_counter()
        _write_embeddings_csv(root / "embeddings.csv", names, dim)
        _write_metadata_csv(root / "metadata.csv", names)
        size_mb = (root / "embeddings.csv").stat().st_size / 1e6
        stdout.write(
            f"  generated {samples:,} x {dim} embeddings CSV ({size_mb:.0f} MB) + metadata CSV "
            f"in {time.perf_counter() - started:.1f} s"
        )
        dataset = dataset_create(name=f"bench-ingest-{uuid.uuid4().hex[:8]}", owner=owner)
        try:
            started = time.perf_counter()
            summary = dataset_import(
                dataset=dataset,
                embeddings=root / "embeddings.csv",
                metadata=root / "metadata.csv",
                samples_from_embeddings=True,
            )
            seconds = time.perf_counter() - started
            _line(
                stdout,
                f"embeddings CSV + metadata CSV, {samples:,} samples",
                seconds,
                f"({samples / seconds:,.0f} samples/s; {len(summary.annotations)} label task)",
                TARGET_SECONDS if not quick else None,
            )
            _phases(stdout, summary.phases)
            started = time.perf_counter()
            dataset_import(
                dataset=dataset, embeddings=root / "embeddings.csv", embedding_name="again"
            )
            _line(
                stdout,
                "same CSV into the existing samples",
                time.perf_counter() - started,
                "(second space, labels replaced)",
                None,
            )
        finally:
            _delete(dataset, stdout)

        folder = root / "images"
        started = time.perf_counter()
        _write_images(folder, images)
        stdout.write(
            f"  generated {images:,} JPEGs (160x120) in {time.perf_counter() - started:.1f} s"
        )
        dataset = dataset_create(name=f"bench-images-{uuid.uuid4().hex[:8]}", owner=owner)
        try:
            started = time.perf_counter()
            summary = dataset_import(dataset=dataset, images=folder, embed="never")
            seconds = time.perf_counter() - started
            _line(
                stdout,
                f"image folder, {images:,} images (metadata+thumbs)",
                seconds,
                f"({summary.images_added / seconds:,.0f} images/s)",
                TARGET_SECONDS if not quick else None,
            )
            _phases(stdout, summary.phases)
            started = time.perf_counter()
            dataset_import(dataset=dataset, images=folder, embed="always")
            _line(
                stdout,
                "built-in embedding of the same images",
                time.perf_counter() - started,
                "(descriptors + PCA)",
                None,
            )
        finally:
            _delete(dataset, stdout)
        run_video_ingest(stdout, root, quick, owner)
        run_onnx_ingest(stdout, root, quick)
    if temporary_owner:
        owner.delete()


def _delete(dataset: Dataset, stdout: Any) -> None:
    started = time.perf_counter()
    dataset_delete(dataset=dataset)
    stdout.write(f"  (deleted the throwaway dataset in {time.perf_counter() - started:.1f} s)")
