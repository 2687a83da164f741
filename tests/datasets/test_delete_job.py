"""Deleting a dataset is a background job: the job deletes the per-sample rows in batches with
progress, honours cancel between batches (before the first batch the dataset comes back; after
it, it stays hidden and can be deleted again), removes the files and leaves nothing behind; a
dead worker's job is failed by recovery; queued work on the dataset is cancelled and running work
waited for. (``filled`` comes from ``tests/support/deletion.py``.)
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from curation.datasets import delete as delete_service
from curation.datasets.delete import DEAD_WORKER_MESSAGE, dataset_delete_start
from curation.datasets.services import dataset_media_dir
from curation.jobs.recover import jobs_recover
from curation.jobs.services import import_job_start, job_cancel, job_execute
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    Job,
    Sample,
    Score,
    SelectionRun,
    Tag,
    TagSample,
    WorkerHeartbeat,
)
from curation.storage.embeddings import dataset_embedding_dir

Status = Job.Status


@pytest.fixture
def pushed(monkeypatch):
    """(status, stage, done, total) of every progress fragment the delete job pushed."""
    seen: list[tuple[str, str, int, int]] = []
    real = delete_service.job_progress_push

    def spy(job):
        seen.append((job.status, job.stage, job.done, job.total))
        real(job)

    monkeypatch.setattr(delete_service, "job_progress_push", spy)
    return seen


def _left(dataset_id: int) -> dict[str, int]:
    return {
        "samples": Sample.objects.filter(dataset_id=dataset_id).count(),
        "tag_samples": TagSample.objects.filter(tag__dataset_id=dataset_id).count(),
        "annotations": Annotation.objects.filter(task__dataset_id=dataset_id).count(),
        "scores": Score.objects.filter(sample__dataset_id=dataset_id).count(),
    }


# ----------------------------------------------------------------------------- the job


@pytest.mark.django_db
def test_a_delete_runs_in_batches_with_progress_and_leaves_nothing(filled, alice, pushed, settings):
    settings.CURATION_DELETE_BATCH_SIZE = 4
    pk = filled.pk
    folders = [dataset_embedding_dir(pk), dataset_media_dir(pk)]
    assert all(folder.is_dir() for folder in folders)

    job = dataset_delete_start(dataset=filled, user=alice)
    assert job.status == Status.QUEUED and job.kind == Job.Kind.DELETE
    assert Dataset.objects.get(pk=pk).deleting
    job_execute(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    assert (
        job.message == "Deleted dataset 'cats': 10 samples, 1 tags, 1 selection runs and its files."
    )
    assert (job.dataset_id, job.dataset_name, job.progress, job.stage) == (None, "cats", 1.0, "")
    assert job.summary["samples"] == 10 and job.summary["tags"] == 1
    batches = [row[2:] for row in pushed if row[1] == "deleting samples"]
    assert batches == [(0, 10), (4, 10), (8, 10), (10, 10)]
    stages = [row[1] for row in pushed]
    assert stages.index("removing files") < stages.index("deleting the dataset")
    assert pushed[-1][0] == Status.SUCCEEDED
    # Nothing left behind: no rows of any per-sample table, no dataset rows, no files.
    assert not Dataset.objects.filter(pk=pk).exists()
    assert _left(pk) == {"samples": 0, "tag_samples": 0, "annotations": 0, "scores": 0}
    assert not Annotation.objects.exists() and not AnnotationTask.objects.exists()
    assert not EmbeddingSpace.objects.exists()
    assert not SelectionRun.objects.exists()
    assert list(Tag.objects.values_list("dataset__name", flat=True)) == ["alice-private"]
    assert not any(folder.exists() for folder in folders)
    # The other dataset is untouched.
    assert list(Sample.objects.values_list("file_name", flat=True)) == ["keep.png"]
    assert TagSample.objects.count() == 1 and Score.objects.count() == 1


@pytest.mark.django_db
def test_cancel_before_it_starts_gives_the_dataset_back(client, filled, alice, staff):
    job = dataset_delete_start(dataset=filled, user=alice)
    client.force_login(alice)
    assert "cats" not in client.get(reverse("dataset-list")).content.decode()

    job_cancel(job=job, user=staff)

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.message == (
        f"Cancelled by {staff.username} before it started; the dataset was not changed."
    )
    assert not Dataset.objects.get(pk=filled.pk).deleting
    assert ">cats<" in client.get(reverse("dataset-list")).content.decode()
    assert job_execute(job_id=job.pk) is None
    assert _left(filled.pk)["samples"] == 10


@pytest.mark.django_db
def test_cancel_before_the_first_batch_restores_the_dataset(filled, alice, monkeypatch):
    job = dataset_delete_start(dataset=filled, user=alice)
    real = delete_service.job_progress_push

    def cancel_on_first_push(pushed_job):
        Job.objects.filter(pk=pushed_job.pk).update(cancel_requested=True)
        real(pushed_job)

    monkeypatch.setattr(delete_service, "job_progress_push", cancel_on_first_push)
    job_execute(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.message == "Cancelled before anything was deleted; dataset 'cats' is back."
    assert not Dataset.objects.get(pk=filled.pk).deleting
    assert _left(filled.pk) == {"samples": 10, "tag_samples": 7, "annotations": 10, "scores": 10}


@pytest.mark.django_db
def test_cancel_between_batches_keeps_the_dataset_hidden_until_deleted_again(
    client, filled, alice, monkeypatch, settings
):
    settings.CURATION_DELETE_BATCH_SIZE = 4
    job = dataset_delete_start(dataset=filled, user=alice)
    real = delete_service.job_progress_push

    def cancel_after_first_batch(pushed_job):
        if pushed_job.stage == "deleting samples" and pushed_job.done == 4:
            job_cancel(job=pushed_job, user=alice)  # seen once the next batch is done
        real(pushed_job)

    monkeypatch.setattr(delete_service, "job_progress_push", cancel_after_first_batch)
    job_execute(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.message == (
        "Cancelled after deleting 8 of 10 samples; dataset 'cats' stays hidden: delete it again "
        "to finish."
    )
    assert Dataset.objects.get(pk=filled.pk).deleting
    assert _left(filled.pk)["samples"] == 2
    client.force_login(alice)
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert f'href="/datasets/{filled.pk}/delete/">Delete again</a>' in page
    confirm = client.get(reverse("dataset-delete", args=[filled.pk])).content.decode()
    assert "partly deleted and hidden" in confirm and "2 samples" in confirm

    monkeypatch.setattr(delete_service, "job_progress_push", real)
    response = client.post(reverse("dataset-delete", args=[filled.pk]))
    again = Job.objects.get(kind=Job.Kind.DELETE, status=Status.QUEUED)
    assert response["Location"] == f"/jobs/{again.pk}/"
    job_execute(job_id=again.pk)
    again.refresh_from_db()
    assert again.status == Status.SUCCEEDED, again.error
    assert not Dataset.objects.filter(pk=filled.pk).exists()
    assert _left(filled.pk) == {"samples": 0, "tag_samples": 0, "annotations": 0, "scores": 0}


@pytest.mark.django_db
def test_a_dead_delete_worker_is_failed_and_the_dataset_stays_hidden(filled, alice, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    job = dataset_delete_start(dataset=filled, user=alice)
    old = timezone.now() - timedelta(seconds=60)
    Job.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, worker_id="gone-host-4242", heartbeat_at=old, started_at=old
    )
    WorkerHeartbeat.objects.create(
        worker_id="w", hostname="gone-host", pid=4242, started_at=old, last_seen=old
    )

    assert jobs_recover() == [job.pk]

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error == DEAD_WORKER_MESSAGE
    assert Dataset.objects.get(pk=filled.pk).deleting  # hidden, never half visible
    again = dataset_delete_start(dataset=filled, user=alice, execute="inline")
    assert again.status == Status.SUCCEEDED, again.error
    assert not Dataset.objects.filter(pk=filled.pk).exists()


@pytest.mark.django_db
def test_queued_work_is_cancelled_and_running_work_is_waited_for(filled, alice, settings):
    queued_run = SelectionRun.objects.create(dataset=filled, config={}, result_tag_name="q")
    running_run = SelectionRun.objects.create(
        dataset=filled,
        config={},
        result_tag_name="r",
        status=SelectionRun.Status.RUNNING,
        heartbeat_at=timezone.now(),
        worker_id=f"{socket.gethostname()}-1",
    )
    queued_import = import_job_start(dataset=filled, user=alice)

    job = dataset_delete_start(dataset=filled, user=alice)

    queued_run.refresh_from_db()
    queued_import.refresh_from_db()
    running_run.refresh_from_db()
    assert queued_run.status == SelectionRun.Status.CANCELLED
    assert queued_run.message == "Cancelled: dataset 'cats' is being deleted; no tag was written."
    assert queued_import.status == Status.CANCELLED
    assert (
        queued_import.message == "Cancelled: dataset 'cats' is being deleted; nothing was imported."
    )
    assert running_run.cancel_requested and running_run.status == SelectionRun.Status.RUNNING

    settings.CURATION_DELETE_WAIT_SECONDS = 0  # the running run does not stop in time
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error == (
        "1 selection runs or imports of dataset 'cats' did not stop within 0 seconds; cancel "
        "them and delete the dataset again. Nothing was deleted."
    )
    assert not Dataset.objects.get(pk=filled.pk).deleting  # nothing deleted: back
    assert _left(filled.pk)["samples"] == 10


@pytest.mark.django_db
def test_a_second_delete_request_answers_the_running_job(filled, alice, staff):
    first = dataset_delete_start(dataset=filled, user=alice)
    assert dataset_delete_start(dataset=filled, user=staff).pk == first.pk
    assert Job.objects.filter(kind=Job.Kind.DELETE).count() == 1
