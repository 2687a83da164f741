"""Image folders: find the images, then decode them in worker processes (chunked), falling back
to this process when a pool cannot start."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.formats.names import IMAGE_EXTENSIONS
from curation.formats.video import VIDEO_EXTENSIONS
from curation.storage.paths import UnsafePathError, is_inside, validate_sample_file_name
from curation.storage.thumbnails import ImageJob, process_chunk

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
CHUNK_SIZE = 64
MIN_JOBS_FOR_POOL = 2 * CHUNK_SIZE


@dataclass
class ImageScan:
    root: Path
    files: list[str] = field(default_factory=list)  # relative POSIX names, sorted
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    videos: list[str] = field(default_factory=list)  # relative POSIX names, sorted
    unsupported: list[str] = field(default_factory=list)  # neither image nor video, sorted


def scan_image_folder(root: Path) -> ImageScan:
    """Every image and video below ``root`` (recursive; hidden folders and files skipped;
    other files listed in ``unsupported``).

    Each name returned is a checked relative name (``validate_sample_file_name``) whose file lies
    inside ``root`` with symlinks resolved, so callers may join it to ``root`` directly. Refused,
    with a reason: names the checks refuse, symlinked files that lead outside ``root`` and
    symlinked folders (never followed: they could lead anywhere, another import root included).
    """
    scan = ImageScan(root=root)
    real_root = Path(os.path.realpath(root))
    pending = [(str(root), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as entries:  # DirEntry: type without a stat per file
                listing = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            scan.refused.append((prefix or ".", f"the folder cannot be read ({exc.strerror})"))
            continue
        for entry in reversed(listing):  # depth first, in name order
            name = entry.name
            if name.startswith("."):
                continue
            relative = prefix + name
            if entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, relative + "/"))
                continue
            if entry.is_symlink() and entry.is_dir():
                scan.refused.append((relative + "/", "a symlinked folder, which imports skip"))
                continue
            extension = os.path.splitext(name)[1].lower()
            is_video = extension in VIDEO_EXTENSIONS
            if not is_video and extension not in IMAGE_EXTENSIONS:
                scan.unsupported.append(repr(relative)[1:-1])
                continue
            try:
                validate_sample_file_name(relative)
            except UnsafePathError as exc:
                scan.refused.append((repr(relative)[1:-1], f"its name {exc.reason}"))
                continue
            if entry.is_symlink() and not is_inside(real_root, entry.path):
                scan.refused.append((relative, "a symlink to a file outside the image folder"))
                continue
            if not entry.is_file():  # a named pipe or device would block its reader forever
                scan.refused.append((relative, "not a regular file"))
                continue
            (scan.videos if is_video else scan.files).append(relative)
    scan.files.sort()
    scan.videos.sort()
    scan.unsupported.sort()
    return scan


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt() parameters


_PR_SET_PDEATHSIG = 1
_WATCHDOG_SECONDS = 1.0
_STOP_SECONDS = 10.0  # how long a cancelled import waits for its killed workers' pool to end


def _worker_setup(owner_pid: int | None = None) -> None:
    """Bind the worker's life to the process that started the pool, then tune malloc.

    A worker must never outlive its owner (a task worker killed with ``kill -9`` mid-import):
    on Linux the kernel sends SIGKILL when the worker's parent (the forkserver, which exits
    with the owner) dies (``PR_SET_PDEATHSIG``), and a watchdog thread exits as soon as the
    owner's pid is gone, on every platform.

    Then let the worker keep the memory it frees (glibc): each image allocates and frees arrays
    of a few hundred kB, and handing them back to the kernel every time costs ~100 page faults
    per image (~7% of the per-image time). Elsewhere a no-op."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        libc = None
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if owner_pid is not None:
        if not process_alive(owner_pid):  # the owner died before this worker started
            os._exit(1)
        threading.Thread(
            target=_watch_owner, args=(owner_pid,), name="owner-watchdog", daemon=True
        ).start()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.mallopt(_M_MMAP_THRESHOLD, 16 << 20)
            libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_owner(owner_pid: int) -> None:
    while process_alive(owner_pid):
        time.sleep(_WATCHDOG_SECONDS)
    os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool at once (a cancel or an error): no worker may keep writing thumbnails into
    a staging folder that is about to be removed.

    The workers are killed, then the pool's own manager thread notices, reaps them and closes
    its queues; it alone joins the processes, so no two threads read one child's exit status.
    Its end is awaited for a bounded time: a pool that cannot be torn down is logged and left to
    the interpreter, never allowed to hang the job that is stopping."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    if isinstance(manager, threading.Thread):
        manager.join(_STOP_SECONDS)
        if manager.is_alive():
            logger.warning(
                "The image workers' pool did not shut down within %s s after they were killed.",
                _STOP_SECONDS,
            )
    deadline = time.monotonic() + _STOP_SECONDS
    for process in processes:  # the kernel has them by now; wait for them to be gone
        while process.pid is not None and process_alive(process.pid):
            if _reaped_or_zombie(process.pid) or time.monotonic() > deadline:
                break
            time.sleep(0.01)


def _reaped_or_zombie(pid: int) -> bool:
    """A killed worker that only waits for its parent (the forkserver) to reap it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in {b"Z", b"X"}
    except (OSError, IndexError):
        return True


def _pool_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_image_jobs(
    jobs: list[ImageJob], *, workers: int | None = None, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Results aligned with ``jobs``. ``workers``: None = one per CPU, 0 or 1 = this process."""
    if workers is None:
        workers = os.cpu_count() or 1
    chunks = [jobs[i : i + CHUNK_SIZE] for i in range(0, len(jobs), CHUNK_SIZE)]
    results: list[list[dict[str, Any]] | None] = [None] * len(chunks)
    done = 0
    if workers > 1 and len(jobs) >= MIN_JOBS_FOR_POOL:
        try:
            with ProcessPoolExecutor(
                max_workers=min(workers, len(chunks)),
                mp_context=_pool_context(),
                initializer=_worker_setup,
                initargs=(os.getpid(),),
            ) as pool:
                try:
                    futures: dict[Future[list[dict[str, Any]]], int] = {
                        pool.submit(process_chunk, chunk): index
                        for index, chunk in enumerate(chunks)
                    }
                    for future in as_completed(futures):
                        index = futures[future]
                        results[index] = future.result()
                        done += len(chunks[index])
                        if progress:  # may raise to cancel: the workers are stopped at once
                            progress(done, len(jobs))
                except BaseException:
                    _stop_workers(pool)
                    raise
        except (OSError, BrokenProcessPool, NotImplementedError, PermissionError) as exc:
            logger.warning("Image workers could not run (%s); continuing in this process.", exc)
    for index, chunk in enumerate(chunks):
        if results[index] is None:
            results[index] = process_chunk(chunk)
            done += len(chunk)
            if progress:
                progress(done, len(jobs))
    return [result for chunk_results in results for result in chunk_results or []]
