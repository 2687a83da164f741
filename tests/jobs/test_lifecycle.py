"""Import jobs: queued → running → succeeded with progress rows; cancel, failure and dead-worker
recovery leave nothing behind (rows, uploaded files, thumbnails, the dataset they created)."""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from curation.imports.inline import dataset_import_inline
from curation.jobs import execute as jobs_execute
from curation.jobs import finish as jobs_finish
from curation.jobs.recover import jobs_recover
from curation.jobs.services import (
    DEAD_WORKER_MESSAGE,
    JobError,
    import_job_start,
    job_cancel,
    job_execute,
)
from curation.models import Dataset, Job, Sample, WorkerHeartbeat
from curation.storage.thumbnails import thumbnail_relpath
from tests.support.uploads import media_files, png, png_bytes
from tests.support.workers import run_db_worker

Status = Job.Status


@pytest.fixture
def pushed(monkeypatch):
    """(status, stage) of every progress fragment pushed to watching browsers."""
    seen: list[tuple[str, str]] = []
    real_push = jobs_execute.job_progress_push

    def spy(job):
        seen.append((job.status, job.stage))
        real_push(job)

    # the worker pushes progress (jobs.execute) and the end of a job that did not succeed
    # (jobs.finish)
    monkeypatch.setattr(jobs_execute, "job_progress_push", spy)
    monkeypatch.setattr(jobs_finish, "job_progress_push", spy)
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_web_import_runs_through_the_durable_queue(alice, web_import, pushed):
    images = [png(f"img_{i:03d}.png", i) for i in range(140)]  # > 128: the process pool runs
    response, job = web_import(alice, "many", images)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.creates_dataset
    assert job.task_id == str(DBTaskResult.objects.get().id)

    run_db_worker()

    job.refresh_from_db()
    dataset = Dataset.objects.get(name="many")
    assert job.status == Status.SUCCEEDED, job.error
    assert (job.progress, job.stage, job.error) == (1.0, "", "")
    assert job.summary["images_added"] == 140 and job.summary["dataset"] == dataset.pk
    assert "Images: 140 added, 0 skipped (already there), 0 failed." in job.message.splitlines()
    assert job.started_at and job.finished_at and job.worker_id.endswith(f"-{os.getpid()}")
    assert Sample.objects.filter(dataset=dataset).count() == 140
    statuses = [status for status, _ in pushed]
    assert statuses[0] == Status.RUNNING and statuses[-1] == Status.SUCCEEDED
    assert ("running", "images") in pushed and ("running", "writing") in pushed
    files = media_files()
    thumbs = [f for f in files if f.startswith(f"datasets/{dataset.pk}/thumbs/")]
    assert len(thumbs) == 140
    assert not [f for f in files if f.startswith("staging/")]  # moved into place, folder gone
    sample = Sample.objects.get(dataset=dataset, file_name="img_007.png")
    assert sample.thumbnail == thumbnail_relpath(dataset.pk, "img_007.png")
    assert (Path(settings.MEDIA_ROOT) / sample.thumbnail).is_file()


@pytest.mark.django_db(transaction=True)
def test_cancel_mid_import_leaves_nothing(alice, web_import, monkeypatch):
    images = [png(f"img_{i:03d}.png", i) for i in range(200)]
    _, job = web_import(alice, "cancelled", images)
    real_progress = jobs_execute.JobMonitor.progress

    def cancel_on_first_chunk(self, stage, done, total):
        if stage == "images" and done > 0 and not self.job.cancel_requested:
            job_cancel(job=Job.objects.get(pk=self.job.pk), user=alice)  # another request
        real_progress(self, stage, done, total)

    monkeypatch.setattr(jobs_execute.JobMonitor, "progress", cancel_on_first_chunk)
    run_db_worker()

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.message.startswith("Cancelled after ") and job.message.endswith(
        " of 200 images; nothing was imported."
    )
    assert job.dataset_id is None and not Dataset.objects.filter(name="cancelled").exists()
    assert not Sample.objects.exists()
    assert media_files() == []  # no uploaded image, no thumbnail, no staging folder


@pytest.mark.django_db(transaction=True)
def test_a_bad_csv_fails_the_web_import_and_removes_the_dataset(alice, web_import):
    bad = "file_name,weather\na.png,sunny\nzzz.png,rainy\n"
    _, job = web_import(
        alice,
        "bad-csv",
        [png("a.png", 1), png("b.png", 2)],
        metadata=SimpleUploadedFile("metadata.csv", bad.encode()),
    )
    run_db_worker()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error == (
        "1 file name(s) in metadata.csv match no image of the dataset: zzz.png; check the names "
        "are relative to the image folder."
    )
    assert not Dataset.objects.filter(name="bad-csv").exists() and not Sample.objects.exists()
    assert media_files() == []


@pytest.mark.django_db
def test_a_job_on_an_existing_dataset_keeps_the_dataset_when_it_fails(alice, dataset, tmp_path):
    job = import_job_start(
        dataset=dataset,
        user=alice,
        save_files=lambda staging: {"metadata": _write(staging / "m.csv", "nonsense\n")},
        execute="inline",
    )
    assert job.status == Status.FAILED and job.error
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert media_files() == []


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.django_db
def test_cancel_of_a_queued_job_and_of_a_finished_one(alice, bob, dataset):
    job = import_job_start(dataset=dataset, user=alice, options={"metadata": "/nowhere.csv"})
    staging = Path(settings.MEDIA_ROOT) / job.staging_dir
    assert staging.is_dir()
    job_cancel(job=job, user=bob)
    assert job.status == Status.CANCELLED
    assert job.message == "Cancelled by bob before it started; nothing was imported."
    assert not staging.exists()
    assert job_execute(job_id=job.pk) is None  # a worker picking it up later does nothing
    with pytest.raises(JobError) as caught:
        job_cancel(job=job, user=bob)
    assert str(caught.value) == (
        f"Job {job.pk} has already finished (cancelled); there is nothing to cancel."
    )


def _running_job(dataset, user, *, worker_id, beat_ago_s, creates_dataset=False):
    job = import_job_start(dataset=dataset, user=user, creates_dataset=creates_dataset)
    old = timezone.now() - timedelta(seconds=beat_ago_s)
    Job.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, worker_id=worker_id, heartbeat_at=old, started_at=old
    )
    staged = Path(settings.MEDIA_ROOT) / job.staging_dir / thumbnail_relpath(dataset.pk, "x.png")
    staged.parent.mkdir(parents=True)
    staged.write_bytes(png_bytes())
    return job


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_failed_and_cleaned(alice, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    dataset = Dataset.objects.create(name="new", owner=alice)
    job = _running_job(
        dataset, alice, worker_id="gone-host-4242", beat_ago_s=60, creates_dataset=True
    )
    WorkerHeartbeat.objects.create(
        worker_id="w", hostname="gone-host", pid=4242, started_at=timezone.now(),
        last_seen=timezone.now() - timedelta(seconds=60),
    )  # fmt: skip

    assert jobs_recover() == [job.pk]

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error == DEAD_WORKER_MESSAGE
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert media_files() == []
    assert jobs_recover() == []


@pytest.mark.django_db
def test_a_slow_job_whose_worker_still_beats_is_left_running(alice, dataset, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    host = socket.gethostname()
    job = _running_job(dataset, alice, worker_id=f"{host}-777", beat_ago_s=60)
    WorkerHeartbeat.objects.create(
        worker_id="w", hostname=host, pid=777, started_at=timezone.now(), last_seen=timezone.now()
    )
    assert jobs_recover() == []
    job.refresh_from_db()
    assert job.status == Status.RUNNING
    assert any(f.startswith(f"staging/job-{job.pk}/") for f in media_files())


@pytest.mark.django_db
def test_recovery_keeps_a_staged_thumbnail_whose_row_committed(alice, dataset, settings):
    """A worker killed after its commit but before it moved the thumbnails: the rows decide."""
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    job = _running_job(dataset, alice, worker_id="gone-1", beat_ago_s=60)
    relpath = thumbnail_relpath(dataset.pk, "x.png")
    Sample.objects.create(
        dataset=dataset, file_name="x.png", width=16, height=12, thumbnail=relpath
    )
    assert jobs_recover() == [job.pk]
    assert media_files() == [relpath]


@pytest.mark.django_db
def test_a_command_line_import_is_a_job(alice, tmp_path):
    folder = tmp_path / "cli"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes(1))
    summary = dataset_import_inline(name="cli-set", owner=alice, images=folder, workers=0)
    job = Job.objects.get(dataset_name="cli-set")
    assert summary.created and summary.images_added == 1
    assert job.status == Status.SUCCEEDED and job.creates_dataset and job.summary["images_added"]
    assert not [f for f in media_files() if f.startswith("staging/")]


@pytest.mark.django_db
def test_an_interrupted_command_line_import_leaves_nothing(alice, tmp_path):
    folder = tmp_path / "cli"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(png_bytes(i))

    def interrupt(stage, done, total):
        if stage == "images" and done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dataset_import_inline(
            name="cli-set", owner=alice, images=folder, workers=0, progress=interrupt
        )
    job = Job.objects.get(dataset_name="cli-set")
    assert job.status == Status.CANCELLED and job.message == "Interrupted; nothing was imported."
    assert not Dataset.objects.filter(name="cli-set").exists() and not Sample.objects.exists()
    assert media_files() == []


@pytest.mark.django_db
def test_a_command_line_import_is_alive_while_its_process_is(alice, dataset, settings):
    """No worker row: on this machine the process itself is checked."""
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    host = socket.gethostname()[:150]
    running = _running_job(dataset, alice, worker_id=f"{host}-{os.getpid()}", beat_ago_s=60)
    gone = subprocess.Popen(["true"])
    gone.wait()
    killed = Job.objects.get(
        pk=_running_job(dataset, alice, worker_id=f"{host}-{gone.pid}", beat_ago_s=60).pk
    )
    assert jobs_recover() == [killed.pk]
    assert Job.objects.get(pk=running.pk).status == Status.RUNNING


@pytest.mark.django_db
def test_orphaned_staging_folders_are_swept(alice, dataset):
    root = Path(settings.MEDIA_ROOT) / "staging"
    host = socket.gethostname()[:60]
    gone = subprocess.Popen(["true"])
    gone.wait()
    folders = {
        "job-999999": False,  # no such job, an hour old: swept
        f"proc-{gone.pid}-abc-{host}": False,  # a CLI import whose process is gone: swept
        f"proc-{os.getpid()}-abc-{host}": True,  # a CLI import still running: kept
        "job-999998": True,  # no row yet (being created), recent: kept
    }
    for name in folders:
        staged = root / name / thumbnail_relpath(dataset.pk, "x.png")
        staged.parent.mkdir(parents=True)
        staged.write_bytes(png_bytes())
    old = timezone.now().timestamp() - 7200
    os.utime(root / "job-999999", (old, old))
    jobs_recover()
    assert {name: (root / name).exists() for name in folders} == folders
