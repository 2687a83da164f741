"""Pages benchmark: server time of the busiest browsing pages on a 1M-sample dataset.

The dataset (``bench-pages-<N>``) is generated inside PostgreSQL with ``INSERT ... SELECT
generate_series`` (samples with metadata, one ground-truth label each, a 100k tag) and kept for
the next run. Each page is rendered with the test client (in-process: URL routing, views,
queries, templates) a few times; the median is reported against the 300 ms target.
SQLite is skipped unless ``CURATION_BENCH_SQLITE=1``.

Find similar (``similar_to=``) is measured on its own dataset (``bench-similar-100000``:
100,000 samples with a random 512-d normalised space, kept for the next run): the browser's
first page ranked by exact distance to one sample, a different sample each time with the
process's distance cache cleared, so every request computes the distances (the first page a
user sees); target 1 s.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from curation.benchmarks.facets import time_facet_panels
from curation.benchmarks.generated import ground_truth_labels_add, modulo_tag_add
from curation.browse.similarity import similarity_clear_caches
from curation.models import Dataset, EmbeddingSpace, Sample, Tag
from curation.storage.embeddings import embedding_space_store

TARGET_MS = 300.0
REPEATS = 5
SIMILAR_N, SIMILAR_DIM, SIMILAR_TARGET_MS = 100_000, 512, 1000.0


def _generate(name: str, n: int, owner: Any, stdout: Any) -> Dataset:
    started = time.perf_counter()
    dataset = Dataset.objects.create(name=name, owner=owner, description="pages benchmark")
    sample_table = Sample._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {sample_table}
                (dataset_id, file_name, width, height, size_bytes, thumbnail, metadata, created)
            SELECT %s, 'img_' || lpad(i::text, 7, '0') || '.jpg',
                   CASE WHEN i %% 3 = 0 THEN 1920 ELSE 1280 END,
                   CASE WHEN i %% 3 = 0 THEN 1080 ELSE 720 END,
                   50000 + (i * 7919) %% 100000, '',
                   jsonb_build_object(
                       'lightly.sharpness', round(((i * 2654435761::bigint) %% 100000) / 1000.0, 3),
                       'lightly.brightness', round(((i * 40503::bigint) %% 1000) / 1000.0, 3),
                       'speed', (i * 97) %% 130,
                       'weather', (ARRAY['sunny','cloudy','rain','snow'])[1 + (i / 3) %% 4],
                       'night', (i %% 7 = 0)
                   ), now()
            FROM generate_series(1::bigint, %s::bigint) AS i
            """,  # noqa: S608 (table name from the model)
            [dataset.pk, n],
        )
        ground_truth_labels_add(cursor=cursor, dataset=dataset)
        modulo_tag_add(cursor=cursor, dataset=dataset, name="every-tenth", modulo=10)
        for i in range(20):
            Tag.objects.create(dataset=dataset, name=f"small-{i:02d}")
    with connection.cursor() as cursor:  # what autovacuum does soon after a big import
        cursor.execute("VACUUM ANALYZE")
    stdout.write(f"Generated {n:,} samples in {time.perf_counter() - started:.1f} s.\n")
    return dataset


def _time(client: Client, url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    client.get(url, headers=headers or {})  # warm caches (metadata discovery, plans)
    times = []
    status = 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(times), status


def run_pages_benchmark(stdout: Any, quick: bool) -> None:
    if connection.vendor != "postgresql" and not os.environ.get("CURATION_BENCH_SQLITE"):
        stdout.write(
            "pages: skipped (SQLite). Run with DATABASE_URL=postgres://… "
            "(or CURATION_BENCH_SQLITE=1).\n"
        )
        return
    n = 20_000 if quick else 1_000_000
    name = f"bench-pages-{n}"
    user_model = get_user_model()
    owner, _ = user_model.objects.get_or_create(
        username="bench-pages", defaults={"is_staff": False}
    )
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None or Sample.objects.filter(dataset=dataset).count() != n:
        if dataset is not None:
            dataset.delete()
        dataset = _generate(name, n, owner, stdout)
    else:
        stdout.write(f"Reusing {name} ({n:,} samples).\n")
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    browser = reverse("dataset-browser", args=[dataset.pk])
    ids = Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True)
    after_50 = ids[49 * 60 - 1]
    middle = ids[n // 2]
    tag = Tag.objects.get(dataset=dataset, name="every-tenth")
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    pages = [
        ("dataset list", reverse("dataset-list"), None),
        ("browser, first page", browser, None),
        (
            "browser, filtered (tag + sharpness range)",
            f"{browser}?tag=every-tenth&min:lightly.sharpness=50",
            htmx,
        ),
        (
            "browser, filtered (label + weather)",
            f"{browser}?label=3&task=ground_truth&meta:weather=rain",
            htmx,
        ),
        ("browser, filtered (file name search)", f"{browser}?q=img_00420", htmx),
        (
            "browser, page 50 (keyset)",
            f"{browser}?after={after_50}",
            {"HX-Request": "true", "HX-Target": "more"},
        ),
        ("sample detail", reverse("sample-detail", args=[dataset.pk, middle]), None),
        ("tag list", reverse("tag-list", args=[dataset.pk]), None),
        ("tag detail", reverse("tag-detail", args=[dataset.pk, tag.pk]), None),
    ]
    stdout.write(f"{'page':<45} {'median ms':>10}  target {TARGET_MS:.0f} ms\n")
    for label, url, headers in pages:
        ms, status = _time(client, url, headers)
        verdict = "ok" if ms <= TARGET_MS and status == 200 else f"SLOW (HTTP {status})"
        stdout.write(f"{label:<45} {ms:>10.1f}  {verdict}\n")
    time_facet_panels(client, dataset, stdout, _time, TARGET_MS)
    _time_similar(client, owner, stdout)


def _similar_dataset(owner: Any, stdout: Any) -> tuple[Dataset, list[int]]:
    """``bench-similar-100000`` with its 512-d space, created once (bulk insert + one .npy)."""
    name = f"bench-similar-{SIMILAR_N}"
    dataset = Dataset.objects.filter(name=name).first()
    space = EmbeddingSpace.objects.filter(dataset=dataset).first() if dataset else None
    if dataset is None or space is None or space.count != SIMILAR_N:
        if dataset is not None:
            dataset.delete()
        started = time.perf_counter()
        dataset = Dataset.objects.create(name=name, owner=owner, description="pages benchmark")
        Sample.objects.bulk_create(
            (Sample(dataset=dataset, file_name=f"img_{i:07d}.jpg") for i in range(SIMILAR_N)),
            batch_size=5000,
        )
        rows = np.asarray(
            Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True)
        )
        matrix = np.random.default_rng(0).normal(size=(SIMILAR_N, SIMILAR_DIM)).astype(np.float32)
        embedding_space_store(dataset=dataset, name="clip", matrix=matrix, sample_ids=rows)
        stdout.write(
            f"Generated {SIMILAR_N:,} samples x {SIMILAR_DIM} in "
            f"{time.perf_counter() - started:.1f} s.\n"
        )
    ids = list(Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
    return dataset, ids


def _time_similar(client: Client, owner: Any, stdout: Any) -> None:
    dataset, ids = _similar_dataset(owner, stdout)
    browser = reverse("dataset-browser", args=[dataset.pk])
    client.get(f"{browser}?similar_to={ids[0]}")  # warm plans and the memory-mapped file
    times = []
    status = 0
    for i in range(REPEATS):
        similarity_clear_caches()  # every request computes its distances
        started = time.perf_counter()
        response = client.get(f"{browser}?similar_to={ids[(i + 1) * 997]}")
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    ms = statistics.median(times)
    label = f"find similar, first page ({SIMILAR_N // 1000}k x {SIMILAR_DIM})"
    ok = ms <= SIMILAR_TARGET_MS and status == 200
    verdict = f"ok (target {SIMILAR_TARGET_MS:.0f} ms)" if ok else f"SLOW (HTTP {status})"
    stdout.write(f"{label:<45} {ms:>10.1f}  {verdict}\n")
