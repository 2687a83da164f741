"""Fault tests: ``kill -9`` of a process in the middle of an import.

- The image pool never outlives its owner (any database): a process decoding images in a pool
  is killed; every pool process must be gone within seconds.
- A real ``manage.py db_worker`` killed mid-import (PostgreSQL only: the worker subprocess must
  share the test database, which an in-memory SQLite database cannot): the job ends failed with
  a sentence, no row, thumbnail or staging folder is left, the dataset it created is removed,
  no pool process survives, and a re-run of the import on a second worker succeeds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image

from curation.jobs.recover import jobs_recover
from curation.jobs.services import DEAD_WORKER_MESSAGE, import_job_start
from curation.models import Dataset, ImportRoot, Job, Sample
from tests.support.processes import alive, descendants, wait_for
from tests.support.uploads import media_files

BASE_DIR = Path(__file__).resolve().parents[2]


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    try:
        return subprocess.Popen(
            args, cwd=BASE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
    except OSError as exc:
        pytest.skip(f"cannot start a subprocess here ({exc})")


def make_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (24, 16), (i % 256, (i // 256) % 256, 120)).save(folder / f"{i:05d}.png")


pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs /proc to follow child processes"
)


def test_the_image_pool_dies_with_its_owner(tmp_path):
    make_images(tmp_path / "images", 600)
    script = textwrap.dedent(
        f"""
        import os, sys
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
        import django
        django.setup()
        from curation.imports.images import run_image_jobs
        from curation.storage.thumbnails import ImageJob
        folder = {str(tmp_path / "images")!r}
        jobs = [ImageJob(os.path.join(folder, n), os.path.join({str(tmp_path)!r}, "t", n), True)
                for n in sorted(os.listdir(folder))]
        def progress(done, total):
            print("progress", done, flush=True)
            import time; time.sleep(60)  # hold the pool busy until killed
        run_image_jobs(jobs, workers=2, progress=progress)
        """
    )
    log = tmp_path / "owner.log"
    owner = spawn([sys.executable, "-c", script], dict(os.environ), log)
    try:
        wait_for(lambda: "progress" in log.read_text(), 60, "the pool's first chunk")
        pool = descendants(owner.pid)
        assert len(alive(pool)) >= 2, log.read_text()  # the forkserver and its workers
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        wait_for(lambda: not alive(pool), 15, f"pool processes {alive(pool)} to exit")
    finally:
        if owner.poll() is None:
            owner.kill()


def _worker_env(tmp_path: Path) -> dict[str, str]:
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": url,
        "CURATION_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CURATION_EMBEDDINGS_ROOT": str(settings.CURATION_EMBEDDINGS_ROOT),
        "CURATION_VAR_DIR": str(tmp_path / "var"),
        "CURATION_WORKER_HEARTBEAT_SECONDS": "1",
    }


def _close_worker_sessions() -> None:
    """Let the test database be dropped: end what the worker processes left connected."""
    sql = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_kill_9_of_a_db_worker_mid_import(alice, team, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a db_worker subprocess cannot share in-memory SQLite")
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 1
    images = tmp_path / "imports" / "big"
    make_images(images, 3000)
    ImportRoot.objects.create(path=str(images.parent), name="imports", group=team)
    options = {"images": str(images), "restrict_to_import_roots": True}
    dataset = Dataset.objects.create(name="big", owner=alice, team=team)
    job = import_job_start(dataset=dataset, user=alice, options=options, creates_dataset=True)
    env = _worker_env(tmp_path)
    worker_args = [sys.executable, "manage.py", "db_worker", "--interval", "0.2"]

    first = spawn(worker_args, env, tmp_path / "worker1.log")
    try:
        wait_for(
            lambda: Job.objects.filter(pk=job.pk, stage="images", done__gt=0).exists(),
            120,
            "the worker to decode images",
        )
        staged = [f for f in media_files() if f.startswith(f"staging/job-{job.pk}/")]
        assert staged, "the import writes thumbnails into its staging folder"
        pool = descendants(first.pid)
        assert pool, "the import runs a process pool"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    wait_for(lambda: not alive(pool), 15, f"pool processes {alive(pool)} to exit")
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING  # until recovery runs

    time.sleep(3.5)  # three heartbeat intervals without a beat
    assert jobs_recover() == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error == DEAD_WORKER_MESSAGE
    assert not Dataset.objects.filter(name="big").exists() and not Sample.objects.exists()
    assert media_files() == []  # no thumbnail, no staging folder

    # A re-run (the same import again) on a second worker succeeds.
    dataset = Dataset.objects.create(name="big", owner=alice, team=team)
    rerun = import_job_start(dataset=dataset, user=alice, options=options, creates_dataset=True)
    second = spawn(worker_args, env, tmp_path / "worker2.log")
    try:
        wait_for(lambda: Job.objects.get(pk=rerun.pk).is_final, 300, "the re-run to finish")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(20)
        except subprocess.TimeoutExpired:
            second.kill()
    _close_worker_sessions()
    rerun.refresh_from_db()
    assert rerun.status == Job.Status.SUCCEEDED, (
        rerun.error,
        (tmp_path / "worker2.log").read_text()[-3000:],
    )
    assert Sample.objects.filter(dataset=dataset).count() == 3000
    thumbs = [f for f in media_files() if f.startswith(f"datasets/{dataset.pk}/thumbs/")]
    assert len(thumbs) == 3000 and len(media_files()) == 3000
