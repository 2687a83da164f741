"""A cancelled or failing image import stops its worker pool at once: the exception reaches the
caller and no worker outlives the call, not even one stuck in a read that never returns (here a
named pipe nobody writes to); a pool that cannot be torn down is logged, never waited for."""

from __future__ import annotations

import logging
import multiprocessing.forkserver
import multiprocessing.process
import os
import signal
from pathlib import Path

import pytest
from PIL import Image

from curation.imports import images
from curation.imports.images import CHUNK_SIZE, run_image_jobs
from curation.storage.thumbnails import ImageJob
from tests.support.processes import alive, children, descendants, wait_for

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or not hasattr(os, "mkfifo"),
    reason="needs /proc to follow child processes and named pipes",
)


class Stop(Exception):
    pass


def _jobs(folder: Path, count: int, *, stuck_chunk: int | None = None) -> list[ImageJob]:
    """``count`` small images; the first job of chunk ``stuck_chunk`` is a named pipe, whose
    worker blocks in open() until the pipe gets a writer."""
    (folder / "images").mkdir()
    jobs = []
    for i in range(count):
        path = folder / "images" / f"{i:04d}.png"
        if stuck_chunk is not None and i == stuck_chunk * CHUNK_SIZE:
            os.mkfifo(path)
        else:
            Image.new("RGB", (40, 30), (i % 256, 90, 160)).save(path)
        jobs.append(ImageJob(str(path), str(folder / "thumbs" / f"{i:04d}.webp"), True))
    return jobs


def _pool_workers() -> set[int]:
    """This process's pool workers: the forkserver's children."""
    server = multiprocessing.forkserver._forkserver._forkserver_pid
    return children(server) if server else descendants(os.getpid())


def _release(workers: set[int]) -> None:
    for pid in alive(workers):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(workers), 10, "the stuck workers to exit")


@pytest.mark.parametrize("raised", [Stop, KeyboardInterrupt])
def test_an_exception_from_progress_kills_every_worker_even_a_stuck_one(tmp_path, raised):
    jobs = _jobs(tmp_path, 6 * CHUNK_SIZE, stuck_chunk=1)
    seen: list[set[int]] = []

    def progress(done: int, total: int) -> None:
        seen.append(alive(_pool_workers()))
        raise raised("cancelled")

    try:
        with pytest.raises(raised, match="cancelled"):
            run_image_jobs(jobs, workers=2, progress=progress)
        assert len(seen) == 1 and len(seen[0]) == 2, seen  # the pool ran, and was stopped once
        assert alive(seen[0]) == set()  # killed before the call returned, the stuck one too
        thumbs = sorted((tmp_path / "thumbs").iterdir())
        assert CHUNK_SIZE <= len(thumbs) < len(jobs) - CHUNK_SIZE  # most chunks never ran
    finally:
        _release(seen[0] if seen else set())


def test_a_pool_that_cannot_be_torn_down_is_logged_not_waited_for(tmp_path, monkeypatch, caplog):
    jobs = _jobs(tmp_path, 4 * CHUNK_SIZE, stuck_chunk=1)
    monkeypatch.setattr(images, "_STOP_SECONDS", 0.3)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "kill", lambda self: None)
    seen: list[set[int]] = []

    def progress(done: int, total: int) -> None:
        seen.append(alive(_pool_workers()))
        raise Stop("cancelled")

    try:
        with (
            caplog.at_level(logging.WARNING, logger="curation.imports.images"),
            pytest.raises(Stop),
        ):
            run_image_jobs(jobs, workers=2, progress=progress)
        assert alive(seen[0])  # the stuck worker at least: not killed here, not waited for
        assert "did not shut down within 0.3 s" in caplog.text
    finally:
        _release(seen[0] if seen else set())


def test_the_pool_runs_to_the_end_without_a_stop(tmp_path):
    jobs = _jobs(tmp_path, 3 * CHUNK_SIZE)
    calls: list[int] = []
    results = run_image_jobs(jobs, workers=2, progress=lambda done, total: calls.append(done))
    assert [r["ok"] for r in results] == [True] * len(jobs)
    assert calls[-1] == len(jobs) and calls == sorted(calls)
    assert len(list((tmp_path / "thumbs").iterdir())) == len(jobs)
