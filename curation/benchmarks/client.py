"""Client benchmark (``manage.py benchmark --suite client``): the Python client against a live
``manage.py serve`` (started on a free port of 127.0.0.1 with its in-process worker, on this
process's database), timing what a notebook does with large data:

- ``to_list()`` of a dataset of ``CURATION_BENCH_CLIENT_SAMPLES`` samples (default 20,000;
  100,000 is the issue's size), and ``len()`` of it;
- ``sample.tags`` and ``sample.annotations`` of every listed sample (read a page at a time:
  one more request per 500 samples), and for reference the same for the first
  ``DETAIL_REFERENCE`` samples read one detail request per sample (what each sample costs
  when it does not come from a page);
- ``add_images_from_path`` of ``CURATION_BENCH_CLIENT_FILES`` small PNG files (default 2,000;
  10,000 is the issue's size) through the upload path (batches, commit, import job).

Each is reported as seconds and seconds per 1,000 items. ``--quick``: 2,000 samples, 200
files. The benchmark's datasets and its user are removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from PIL import Image

import curation.client as cur
from curation.benchmarks.load import _free_port
from curation.datasets.services import dataset_delete
from curation.models import Dataset, Sample
from curation.tags.services import tag_create
from curation.tokens.services import api_token_create

USERNAME = "bench-client"
START_TIMEOUT_S = 60.0
DETAIL_REFERENCE = 2_000


def _sizes(quick: bool) -> tuple[int, int]:
    if quick:
        return 2_000, 200
    samples = int(os.environ.get("CURATION_BENCH_CLIENT_SAMPLES", "20000"))
    files = int(os.environ.get("CURATION_BENCH_CLIENT_FILES", "2000"))
    return samples, files


def _start(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    manage = Path(settings.BASE_DIR) / "manage.py"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "CURATION_INPROCESS_WORKER": "1",
        "CURATION_API_THROTTLE": "1000000/min",
    }
    return subprocess.Popen(
        [sys.executable, str(manage), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def _connect(url: str, key: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            cur.connect(url, token=key)
            return
        except cur.ServerUnreachable:
            if server.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"The server at {url} did not start.") from None
            time.sleep(0.3)


def _line(stdout: Any, what: str, count: int, seconds: float) -> None:
    per_1k = seconds / max(count, 1) * 1000
    stdout.write(f"  {what:<44} {count:>8,}  {seconds:8.2f} s  {per_1k:7.3f} s / 1k\n")


def _since(started: float) -> float:
    return time.perf_counter() - started


def run_client_benchmark(stdout: Any, quick: bool) -> None:
    n_samples, n_files = _sizes(quick)
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    key = api_token_create(user=user, name=f"bench {secrets.token_hex(4)}")[1]
    listed = Dataset.objects.create(name=f"bench-client-list-{secrets.token_hex(3)}", owner=user)
    uploaded_name = f"bench-client-upload-{secrets.token_hex(3)}"
    Sample.objects.bulk_create(
        (
            Sample(
                dataset=listed,
                file_name=f"img_{i:07d}.jpg",
                width=640,
                height=480,
                metadata={"speed": i % 90, "weather.description": ["sunny", "rain"][i % 2]},
            )
            for i in range(n_samples)
        ),
        batch_size=5000,
    )
    ids = list(Sample.objects.filter(dataset=listed).order_by("pk").values_list("pk", flat=True))
    tag_create(dataset=listed, name="every-tenth", sample_ids=ids[::10])
    folder = Path(tempfile.mkdtemp(prefix="bench-client-"))
    for i in range(n_files):
        Image.new("RGB", (32, 24), (i % 255, 80, 160)).save(folder / f"f_{i:06d}.png")
    url = f"http://127.0.0.1:{_free_port()}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    server = _start(int(url.rsplit(":", 1)[1]), log)
    os.environ["CURATION_PROGRESS"] = "0"
    try:
        _connect(url, key, server)
        dataset = cur.ImageDataset.load(listed.name)
        started = time.perf_counter()
        samples = dataset.query().to_list()
        _line(stdout, "to_list() (500 per request)", len(samples), time.perf_counter() - started)
        started = time.perf_counter()
        tagged = 0
        for sample in samples:
            tagged += bool(sample.tags)
            _ = sample.annotations
        _line(stdout, "tags + annotations, a page per request", len(samples), _since(started))
        if tagged != len(ids[::10]):
            raise CommandError(f"{tagged} samples tagged, expected {len(ids[::10])}.")
        reference = dataset.query()[:DETAIL_REFERENCE].to_list()
        started = time.perf_counter()
        for sample in reference:
            sample.refresh()  # forgets its page: one detail request
            _ = sample.tags, sample.annotations
        _line(stdout, "tags + annotations, a request per sample", len(reference), _since(started))
        started = time.perf_counter()
        count = len(dataset.match(cur.SampleField.metadata["weather.description"] == "sunny"))
        _line(stdout, "len(query) (one COUNT)", count, time.perf_counter() - started)
        target = cur.ImageDataset.create(uploaded_name)
        started = time.perf_counter()
        summary = target.add_images_from_path(folder, upload=True, embed=False)
        elapsed = time.perf_counter() - started
        _line(stdout, "add_images_from_path (upload + import job)", n_files, elapsed)
        if summary["images_added"] != n_files:
            raise CommandError(f"Uploaded {summary['images_added']} of {n_files} files.")
    finally:
        _stop(server)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
        for dataset_row in Dataset.objects.filter(owner=user):
            dataset_delete(dataset=dataset_row)
        user.delete()
