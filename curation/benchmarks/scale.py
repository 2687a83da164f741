"""Scale benchmark: how the busiest pages, counts, the map, deletion, a selection run, typicality
and import memory grow from 10k to 1M samples
(``manage.py benchmark --suite scale --sizes 10000,100000,1000000``).

Each size gets a dataset ``bench-scale-<N>`` generated inside PostgreSQL (``INSERT ... SELECT
generate_series``): 3 metadata keys (``sharpness`` number, ``weather`` string, ``speed``
integer), one ground-truth label of 10 each, 2 tags and 2 finished runs, and a 128-d embedding
space with its 2D map. It is kept for the next run. Pages are rendered in-process with the test
client (routing, views, queries, templates): the median of ``REPEATS`` after one warm-up.

Rows of the table:
- admin dataset list (staff), browser filtered by label + string + numeric range (htmx
  results), the selection dialog with the same filter, the API's sample list and exact count
  with that filter;
- the count the browser shows for that filter against the true count (exact, or an honest
  bound);
- map points: the binary's bytes and ms (warm, and a 304 revalidation), the filter's mask;
- delete: a throwaway copy of the size, the POST's ms and the background job's duration;
- a diversity selection run (n=1,000) as a queued job executed in-process, and typicality K=20
  exact and approximate with its recall@20 (``curation.benchmarks.scale_runs``);
- import peak memory: ``manage.py import_dataset`` of N x 128 embeddings (.npy + names) and a
  metadata CSV in a child process, its peak RSS from ``wait4``.
PostgreSQL only. Every page figure is compared with the 300 ms target.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from curation.benchmarks import scale_runs
from curation.benchmarks.generated import ground_truth_labels_add, modulo_tag_add
from curation.browse.projections import projection_compute
from curation.browse.selectors import result_count, result_page
from curation.datasets.services import dataset_delete
from curation.filters import SampleFilter, filter_samples
from curation.jobs.execute import job_execute
from curation.models import Annotation, Dataset, Job, Sample, SelectionRun
from curation.storage.embeddings import embedding_paths, embedding_space_store

TARGET_MS = 300.0
REPEATS = 3
DIMENSION = 128
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
FILTER = "label=3&task=ground_truth&meta:weather=rain&min:speed=10&max:speed=60"
OWNER = "bench-scale"


def parse_sizes(text: str | None, quick: bool) -> list[int]:
    if not text:
        return [10_000] if quick else list(DEFAULT_SIZES)
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        factor = 1_000_000 if part.endswith("m") else 1_000 if part.endswith("k") else 1
        number = int(float(part.rstrip("mk")) * factor)
        if number < 100:
            raise ValueError(f"--sizes {part!r}: each size must be at least 100 samples.")
        sizes.append(number)
    return sizes


def _generate(name: str, n: int, owner: Any, *, runs: bool = True) -> Dataset:
    dataset = Dataset.objects.create(name=name, owner=owner, description="scale benchmark")
    samples = Sample._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {samples}
                (dataset_id, file_name, width, height, size_bytes, thumbnail, metadata, created)
            SELECT %s, 'img_' || lpad(i::text, 7, '0') || '.jpg', 1280, 720, 50000, '',
                   jsonb_build_object(
                       'sharpness', round(((i * 2654435761::bigint) %% 100000) / 1000.0, 3),
                       'weather', (ARRAY['sunny','cloudy','rain','snow'])[1 + (i / 3) %% 4],
                       'speed', (i * 97) %% 130
                   ), now()
            FROM generate_series(1::bigint, %s::bigint) AS i
            """,  # noqa: S608 (table name from the model)
            [dataset.pk, n],
        )
        ground_truth_labels_add(cursor=cursor, dataset=dataset)
        for name_, modulo in (("every-tenth", 10), ("every-hundredth", 100)):
            modulo_tag_add(cursor=cursor, dataset=dataset, name=name_, modulo=modulo)
        if runs:
            for i in range(2):
                SelectionRun.objects.create(
                    dataset=dataset,
                    config={},
                    result_tag_name=f"run-{i}",
                    status=SelectionRun.Status.SUCCEEDED,
                    created_by=owner,
                )
    ids = np.fromiter(
        Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True),
        dtype=np.int64,
        count=n,
    )
    rng = np.random.default_rng(n)
    centres = rng.standard_normal((10, DIMENSION), dtype=np.float32) * 3
    matrix = centres[ids % 10] + rng.standard_normal((n, DIMENSION), dtype=np.float32)
    space = embedding_space_store(dataset=dataset, name="default", matrix=matrix, sample_ids=ids)
    del matrix
    projection_compute(space=space)
    with connection.cursor() as cursor:  # what an import does (ANALYZE) and autovacuum soon after
        for table in (samples, Annotation._meta.db_table, "curation_tagsample"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return dataset


def _median_ms(call: Callable[[], Any]) -> tuple[float, Any]:
    result = call()  # warm-up: caches, plans
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def _page(client: Client, url: str, htmx: bool = False) -> tuple[float, Any]:
    headers = {"HX-Request": "true", "HX-Target": "results"} if htmx else {}
    return _median_ms(lambda: client.get(url, headers=headers))


def _import_peak_mib(n: int, stdout: Any) -> float | None:
    """Peak RSS (MiB) of ``manage.py import_dataset`` of n x 128 embeddings + metadata."""
    with tempfile.TemporaryDirectory(prefix="curation-scale-") as folder:
        base = Path(folder)
        names = [f"img_{i:07d}.jpg" for i in range(n)]
        rng = np.random.default_rng(7)
        np.save(base / "emb.npy", rng.standard_normal((n, DIMENSION), dtype=np.float32))
        (base / "names.txt").write_text("\n".join(names) + "\n")
        weather = np.array(["sunny", "cloudy", "rain", "snow"])[rng.integers(0, 4, n)]
        with open(base / "meta.csv", "w") as handle:
            handle.write("file_name,sharpness,weather,speed\n")
            for i in range(n):
                handle.write(f"{names[i]},{i % 997 / 10},{weather[i]},{i % 130}\n")
        name = f"bench-scale-import-{n}"
        Dataset.objects.filter(name=name).delete()
        manage = Path(settings.BASE_DIR) / "manage.py"
        command = [
            sys.executable, str(manage), "import_dataset", name,
            "--embeddings", str(base / "emb.npy"),
            "--embedding-filenames", str(base / "names.txt"),
            "--samples-from-embeddings", "--metadata", str(base / "meta.csv"),
            "--owner", OWNER,
        ]  # fmt: skip
        peak_file = base / "peak.txt"
        with open(base / "log.txt", "wb") as log:
            # A child forked from this (large) process starts with its resident size as its
            # peak (Linux keeps the high-water mark across exec), so a small Python in between
            # starts the import and reports that child's own peak.
            wrapper = [sys.executable, "-c", _PEAK_WRAPPER, str(peak_file), *command]
            status = subprocess.call(wrapper, stdout=log, stderr=subprocess.STDOUT, env=os.environ)
        if status != 0:
            tail = (base / "log.txt").read_text(errors="replace").strip().splitlines()[-3:]
            stdout.write(f"import of {n:,} failed: {' / '.join(tail)}\n")
            return None
        peak_kib = int(peak_file.read_text())
    _delete_now(name)
    return peak_kib / 1024  # ru_maxrss is KiB on Linux


_PEAK_WRAPPER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _delete_now(name: str) -> None:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is not None:
        dataset_delete(dataset=dataset)


def _delete_figures(client: Client, n: int, owner: Any) -> tuple[float, float | None]:
    """POST the delete page of a throwaway copy: the request's ms, then the job's seconds."""
    name = f"bench-scale-delete-{n}"
    _delete_now(name)
    dataset = _generate(name, n, owner, runs=False)
    started = time.perf_counter()
    client.post(reverse("dataset-delete", args=[dataset.pk]))
    request_ms = (time.perf_counter() - started) * 1000
    job = Job.objects.filter(dataset_name=name).order_by("-pk").first()
    if job is None:
        return request_ms, None
    started = time.perf_counter()
    job_execute(job_id=job.pk)  # what the worker does
    return request_ms, time.perf_counter() - started


def _dataset(n: int, owner: Any, stdout: Any) -> Dataset:
    name = f"bench-scale-{n}"
    dataset = Dataset.objects.filter(name=name).first()
    if (
        dataset is not None
        and Sample.objects.filter(dataset=dataset).count() == n
        and _vectors_present(dataset)
    ):
        stdout.write(f"Reusing {name}.\n")
        return dataset
    if dataset is not None:
        _delete_now(name)
    started = time.perf_counter()
    dataset = _generate(name, n, owner)
    stdout.write(f"Generated {name} in {time.perf_counter() - started:.1f} s.\n")
    return dataset


def _vectors_present(dataset: Dataset) -> bool:
    """Whether the stored ``default`` space's files exist (another database sharing the
    embeddings folder may have removed a folder of the same dataset id)."""
    space = dataset.embedding_spaces.filter(name="default").first()
    return space is not None and all(path.is_file() for path in embedding_paths(space))


def _measure(
    n: int, owner: Any, staff: Any, stdout: Any, *, memory: bool, exact_seen: dict[int, float]
) -> dict[str, str]:
    dataset = _dataset(n, owner, stdout)
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    admin = Client(HTTP_HOST="localhost")
    admin.force_login(staff)
    row: dict[str, str] = {}
    ms, _ = _page(admin, reverse("admin:curation_dataset_changelist"))
    row["admin dataset list"] = f"{ms:.0f} ms"
    browser = reverse("dataset-browser", args=[dataset.pk])
    ms, _ = _page(client, f"{browser}?{FILTER}", htmx=True)
    row["browser, label + string + numeric range"] = f"{ms:.0f} ms"
    sample_filter = SampleFilter.parse(FILTER)
    shown = result_count(dataset, sample_filter, result_page(dataset, sample_filter))
    true = filter_samples(dataset, sample_filter).count()
    row["count shown for that filter (true)"] = f"{shown} ({true:,})"
    ms, _ = _page(client, reverse("selection-dialog", args=[dataset.pk]) + f"?{FILTER}")
    row["selection dialog, filtered"] = f"{ms:.0f} ms"
    ms, _ = _page(client, reverse("api-sample-list", args=[dataset.pk]) + f"?{FILTER}")
    row["API sample list, filtered"] = f"{ms:.0f} ms"
    ms, _ = _page(client, reverse("api-sample-count", args=[dataset.pk]) + f"?{FILTER}")
    row["API exact count, filtered"] = f"{ms:.0f} ms"
    points = reverse("map-points", args=[dataset.pk]) + "?space=default"
    ms, response = _median_ms(lambda: client.get(points))
    etag = response["ETag"]
    again, _ = _median_ms(lambda: client.get(points, headers={"If-None-Match": etag}))
    row["map points (binary, once per projection)"] = (
        f"{len(response.content) / 2**20:.1f} MiB, {ms:.0f} ms; 304 in {again:.0f} ms"
    )
    mask = reverse("map-mask", args=[dataset.pk]) + f"?space=default&{FILTER}"
    ms, response = _median_ms(lambda: client.get(mask))
    row["map filter mask"] = f"{len(response.content) / 1024:.0f} KiB, {ms:.0f} ms"
    request_ms, job_s = _delete_figures(client, n, owner)
    row["delete a dataset (request; job)"] = f"{request_ms:.0f} ms" + (
        f"; job {job_s:.1f} s" if job_s is not None else ""
    )
    row[scale_runs.RUN_ROW] = scale_runs.run_row(dataset, n, owner)
    row.update(scale_runs.typicality_rows(dataset, n, exact_seen))
    if memory:
        peak = _import_peak_mib(n, stdout)
        row["import peak memory (RSS)"] = f"{peak:.0f} MiB" if peak is not None else "failed"
    return row


def run_scale_benchmark(
    stdout: Any, quick: bool, sizes: str | None = None, memory: bool = True
) -> None:
    if connection.vendor != "postgresql":
        stdout.write("scale: skipped (SQLite). Run with DATABASE_URL=postgres://…\n")
        return
    chosen = parse_sizes(sizes, quick)
    users = get_user_model()
    owner, _ = users.objects.get_or_create(username=OWNER)
    staff, _ = users.objects.get_or_create(
        username=f"{OWNER}-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    rows: dict[int, dict[str, str]] = {}
    exact_seen: dict[int, float] = {}  # typicality: exact seconds by size, to extrapolate
    for n in sorted(chosen):
        stdout.write(f"-- {n:,} samples --\n")
        rows[n] = _measure(n, owner, staff, stdout, memory=memory, exact_seen=exact_seen)
    labels = list(next(iter(rows.values())))
    stdout.write("\n| figure | " + " | ".join(_size(n) for n in chosen) + " |\n")
    stdout.write("|---|" + "---|" * len(chosen) + "\n")
    for label in labels:
        cells = " | ".join(rows[n].get(label, "") for n in chosen)
        stdout.write(f"| {label} | {cells} |\n")
    stdout.write(f"(pages: median of {REPEATS} after a warm-up; target {TARGET_MS:.0f} ms)\n")
    stdout.write(
        "(run and typicality: one run each, wall seconds; typicality on the stored matrix,"
        " approximate time includes its recall measurement)\n"
    )


def _size(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)
