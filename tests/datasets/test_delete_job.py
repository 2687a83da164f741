"""Deleting a dataset is a background job: the request hides the dataset and returns at once;
the job deletes the per-sample rows in batches with progress, honours cancel between batches
(before the first batch the dataset comes back; after it, it stays hidden and can be deleted
again), removes the files and leaves nothing behind; a dead worker's job is failed by recovery.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from html import escape
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from curation.datasets import delete as delete_service
from curation.datasets.delete import DEAD_WORKER_MESSAGE, dataset_delete_start
from curation.datasets.services import DatasetError, dataset_media_dir
from curation.jobs.recover import jobs_recover
from curation.jobs.services import JobError, import_job_start, job_cancel, job_execute
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
from curation.runs.services import SelectionRunError, selection_run_start
from curation.storage.embeddings import dataset_embedding_dir, embedding_space_store
from curation.tags.services import tag_create
from tests.support.jobs import accepted_job

Status = Job.Status
DELETING = "Dataset 'cats' is being deleted (job {}): it can no longer be opened or changed."


@pytest.fixture
def filled(dataset, private_dataset):
    """alice's team dataset with 10 samples and a row in every per-sample table, files on disk;
    ``private_dataset`` has one sample that must survive."""
    samples = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png") for i in range(10)]
    )
    ids = [s.pk for s in samples]
    tag_create(dataset=dataset, name="train", sample_ids=ids[:7])
    task = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="classification"
    )
    Annotation.objects.bulk_create([Annotation(sample_id=i, task=task, label="cat") for i in ids])
    Score.objects.bulk_create([Score(sample_id=i, task="m", name="s", value=1.0) for i in ids])
    embedding_space_store(dataset=dataset, name="default", matrix=np.ones((10, 3)), sample_ids=ids)
    thumb = dataset_media_dir(dataset.pk) / "thumbs" / "a.jpg"
    thumb.parent.mkdir(parents=True)
    thumb.write_bytes(b"jpeg")
    SelectionRun.objects.create(
        dataset=dataset, config={}, result_tag_name="old", status=SelectionRun.Status.SUCCEEDED
    )
    keep = Sample.objects.create(dataset=private_dataset, file_name="keep.png")
    tag_create(dataset=private_dataset, name="train", sample_ids=[keep.pk])
    Score.objects.create(sample=keep, task="m", name="s", value=2.0)
    return dataset


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


# ----------------------------------------------------------------------------- hidden, refused


@pytest.mark.django_db
def test_a_dataset_being_deleted_is_hidden_and_refused_with_one_sentence(
    client, api, filled, alice
):
    job = dataset_delete_start(dataset=filled, user=alice)
    sentence = DELETING.format(job.pk)
    client.force_login(alice)
    assert ">cats<" not in client.get(reverse("dataset-list")).content.decode()
    for url in (
        reverse("dataset-browser", args=[filled.pk]),
        reverse("tag-list", args=[filled.pk]),
        reverse("builder", args=[filled.pk]),
        reverse("dataset-import", args=[filled.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 409, url
        assert escape(sentence) in response.content.decode()
    names = [d["name"] for d in api("alice").get("/api/datasets/").json()["results"]]
    assert names == ["alice-private"]
    base = f"/api/datasets/{filled.pk}/"
    for method, url, body in (
        ("get", base, None),
        ("post", f"{base}tags/", {"name": "new", "sample_ids": []}),
        ("post", f"{base}runs/", {"config": {}, "result_tag_name": "x"}),
        ("get", f"{base}samples/", None),
    ):
        response = getattr(api("alice"), method)(url, body, format="json")
        assert response.status_code == 409, (url, response.json())
        assert response.json() == {"detail": sentence}
    # The services refuse too (the command line, a request that raced the delete).
    refusal = "Dataset 'cats' is being deleted: it can no longer be opened or changed."
    with pytest.raises(DatasetError, match=refusal):
        import_job_start(dataset=filled, user=alice)
    with pytest.raises(SelectionRunError, match=refusal):
        selection_run_start(dataset=filled, config={}, result_tag_name="x", user=alice)
    assert Job.objects.filter(kind=Job.Kind.IMPORT).count() == 0
    assert not SelectionRun.objects.filter(result_tag_name="x").exists()


# ----------------------------------------------------------------------------- access


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "status"), [("alice", 302), ("bob", 404), ("charlie", 404)])
def test_web_delete_access(client, request, filled, who, status):
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("dataset-delete", args=[filled.pk]))
    assert response.status_code == status
    started = Job.objects.filter(kind=Job.Kind.DELETE)
    assert started.count() == (1 if status == 302 else 0)
    assert Dataset.objects.get(pk=filled.pk).deleting is (status == 302)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 202), ("staff", 202), ("bob", 403), ("charlie", 404), ("anonymous", 401)],
)
def test_api_delete_access(api, filled, who, status):
    response = api(who).delete(f"/api/datasets/{filled.pk}/")
    assert response.status_code == status
    if status == 202:
        job = accepted_job(response)
        assert job.kind == Job.Kind.DELETE and job.status == Status.QUEUED
        # Deleting again while it is queued answers the same job.
        assert api(who).delete(f"/api/datasets/{filled.pk}/").json()["job"] == job.pk
    else:
        assert not Job.objects.exists() and not Dataset.objects.get(pk=filled.pk).deleting


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"), [("alice", 200), ("staff", 200), ("bob", 403), ("charlie", 404)]
)
def test_only_those_who_may_delete_can_cancel_a_deletion(api, client, request, filled, who, status):
    """A team member may not delete the dataset, so may not undo its deletion either."""
    job = dataset_delete_start(dataset=filled, user=request.getfixturevalue("alice"))
    response = api(who).post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == status
    if status == 403:
        assert response.json()["detail"] == (
            "Only the dataset's owner, staff or the person who started the deletion may cancel it."
        )
        client.force_login(request.getfixturevalue(who))
        assert client.post(reverse("job-cancel", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.status == (Status.CANCELLED if status == 200 else Status.QUEUED)
    assert Dataset.objects.get(pk=filled.pk).deleting is (status != 200)


@pytest.mark.django_db
def test_job_page_access_while_deleting_and_after(client, filled, alice, bob, charlie):
    job = dataset_delete_start(dataset=filled, user=alice)
    url = reverse("job-detail", args=[job.pk])
    for user, status in ((alice, 200), (bob, 200), (charlie, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status
    client.force_login(bob)
    assert "Delete dataset cats" in client.get(url).content.decode()
    job_execute(job_id=job.pk)
    for user, status in ((alice, 200), (bob, 404), (charlie, 404)):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == status
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "Deleted dataset &#x27;cats&#x27;: 10 samples" in page


# ----------------------------------------------------------------------------- admin


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="root-password")


@pytest.mark.django_db
def test_admin_single_delete_starts_the_job(
    client, superuser, filled, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    url = reverse("admin:curation_dataset_delete", args=[filled.pk])
    confirm = client.get(url).content.decode()
    assert "10 samples, 1 tags, 1 selection runs" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"post": "yes"})
    job = Job.objects.get(kind=Job.Kind.DELETE)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:curation_dataset_changelist")
    text = client.get(response["Location"]).content.decode()
    assert (
        f'Deleting dataset cats in the background: <a href="/jobs/{job.pk}/">job {job.pk}</a>.'
        in text
    )
    assert job.task_id and Dataset.objects.get(pk=filled.pk).deleting
    change = client.post(
        reverse("admin:curation_dataset_change", args=[filled.pk]), {"name": "renamed"}
    )
    assert change.status_code == 403  # read-only while being deleted
    job_execute(job_id=job.pk)
    assert not Dataset.objects.filter(pk=filled.pk).exists()
    assert not Path(settings.CURATION_EMBEDDINGS_ROOT, str(filled.pk)).exists()


@pytest.mark.django_db
def test_a_delete_of_a_vanished_dataset_is_refused(filled, alice):
    stale = Dataset.objects.get(pk=filled.pk)
    Dataset.objects.filter(pk=filled.pk).delete()
    with pytest.raises(JobError) as caught:
        dataset_delete_start(dataset=stale, user=alice)
    assert str(caught.value) == "Dataset 'cats' was already deleted."


# ----------------------------------------------------------------------------- websocket


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("who", "allowed"), [("alice", True), ("bob", True), ("charlie", False)])
async def test_the_delete_job_websocket(request, dataset, who, allowed):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from curation.routing import websocket_urlpatterns

    alice = await sync_to_async(request.getfixturevalue)("alice")
    job = await sync_to_async(dataset_delete_start)(dataset=dataset, user=alice)
    user = await sync_to_async(request.getfixturevalue)(who)
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
    communicator.scope["user"] = user
    try:
        connected, _ = await communicator.connect()
        assert connected is allowed
        if allowed:
            first = await communicator.receive_from()
            assert 'id="job-progress"' in first and "Queued" in first
            await sync_to_async(job_execute)(job_id=job.pk)
            texts = []
            while "Succeeded" not in (texts[-1] if texts else ""):
                texts.append(await communicator.receive_from(timeout=5))
            assert "Deleted dataset &#x27;cats&#x27;: 0 samples" in texts[-1]
    finally:
        await communicator.disconnect()
