"""``POST /api/datasets/{id}/object-embeddings/``: a background job like the other uploads (202,
progress, cancel) at every access level; a bad row fails the job naming file and line, and
nothing is written — no space, no vector file, no uploaded file left in staging."""

from __future__ import annotations

import io

import numpy as np
import pytest

from curation.jobs import execute as jobs_execute
from curation.jobs.services import job_cancel, job_execute
from curation.models import Annotation, EmbeddingSpace, Job
from tests.support.ingest import embedding_files
from tests.support.jobs import accepted_job, run_job
from tests.support.objects import TASK, populate_objects
from tests.support.uploads import media_files

CSV = "filename,object_index,embedding_0,embedding_1\nimg_0000.jpg,0,1,2\nimg_0001.jpg,1,3,4\n"


def _post(api, who, dataset, text=CSV, **extra):
    upload = io.BytesIO(text.encode())
    upload.name = "objects.csv"
    body = {"file": upload, "task": TASK, **extra}
    return api(who).post(f"/api/datasets/{dataset.pk}/object-embeddings/", body, format="multipart")


def _nothing_written():
    assert not EmbeddingSpace.all_spaces.exists()
    assert embedding_files() == []
    assert media_files() == []  # the uploaded files went with the job's staging folder


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owner_and_team_member_upload_object_embeddings_as_a_job(api, dataset, who):
    populate_objects(dataset, images=3, per_image=2)
    response = _post(api, who, dataset)
    job = accepted_job(response)
    assert job.options["object_task"] == TASK and job.created_by.username == who
    assert any(name.startswith(f"staging/job-{job.pk}/uploads/") for name in media_files())
    body = run_job(api, who, response)
    assert body["status"] == "succeeded", body
    assert body["summary"]["object_embeddings"] == {f"objects:{TASK}": [2, 2]}
    assert f"Object embeddings 'objects:{TASK}': 2 objects x 2." in body["message"]
    space = EmbeddingSpace.all_spaces.get(dataset=dataset)
    assert (space.task.name, space.count, space.dimension) == (TASK, 2, 2)
    assert media_files() == []  # staged upload removed when the job ended


@pytest.mark.parametrize(("who", "status"), [("charlie", 404), ("anonymous", 401)])
def test_outsiders_cannot_upload_object_embeddings(api, dataset, who, status):
    populate_objects(dataset, images=3, per_image=2)
    assert _post(api, who, dataset).status_code == status
    assert not Job.objects.exists()
    _nothing_written()


def test_an_unknown_task_is_refused_at_once(api, dataset):
    populate_objects(dataset, images=3, per_image=2)
    response = _post(api, "alice", dataset, task="nope")
    assert response.status_code == 400, response.content
    assert response.json()["path"] == "task"
    assert "dataset 'cats' has no task 'nope'" in response.json()["detail"]
    assert not Job.objects.exists()
    _nothing_written()


def test_a_box_outside_the_image_fails_the_job_with_file_and_line(api, dataset):
    populate_objects(dataset, images=3, per_image=2)
    first = Annotation.objects.filter(sample__file_name="img_0001.jpg").order_by("pk")[1]
    Annotation.objects.filter(pk=first.pk).update(x=-30)
    body = run_job(api, "alice", _post(api, "alice", dataset))
    assert body["status"] == "failed" and body["summary"] == {}
    assert body["error"].startswith("objects.csv line 3: object 1 of img_0001.jpg: box (-30, ")
    _nothing_written()


def test_a_npy_upload_with_its_keys(api, dataset):
    populate_objects(dataset, images=3, per_image=2)
    buffer = io.BytesIO()
    np.save(buffer, np.eye(2, 3, dtype=np.float32))
    buffer.seek(0)
    buffer.name = "vectors.npy"
    keys = io.BytesIO(b"filename,object_index\nimg_0002.jpg,0\nimg_0002.jpg,1\n")
    keys.name = "keys.csv"
    body = {"file": buffer, "keys": keys, "task": TASK, "name": "mine", "raw": "true"}
    response = api("bob").post(
        f"/api/datasets/{dataset.pk}/object-embeddings/", body, format="multipart"
    )
    job = run_job(api, "bob", response)
    assert job["status"] == "succeeded" and job["summary"]["object_embeddings"] == {"mine": [2, 3]}
    space = EmbeddingSpace.all_spaces.get(name="mine")
    assert space.count == 2 and space.normalized is False


def test_progress_is_reported_while_the_job_runs(api, dataset, monkeypatch):
    populate_objects(dataset, images=3, per_image=2)
    stages: list[tuple[str, str]] = []
    real_push = jobs_execute.job_progress_push

    def spy(job):
        stages.append((job.status, job.stage))
        real_push(job)

    monkeypatch.setattr(jobs_execute, "job_progress_push", spy)
    assert run_job(api, "alice", _post(api, "alice", dataset))["status"] == "succeeded"
    assert ("running", "reading files") in stages and ("running", "writing") in stages
    assert stages[-1] == ("succeeded", "")


def test_cancel_of_the_queued_job_by_a_team_member_and_not_by_an_outsider(api, dataset):
    populate_objects(dataset, images=3, per_image=2)
    job = accepted_job(_post(api, "alice", dataset))
    assert api("charlie").post(f"/api/jobs/{job.pk}/cancel/").status_code == 404
    assert api("anonymous").post(f"/api/jobs/{job.pk}/cancel/").status_code == 401
    response = api("bob").post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["message"] == "Cancelled by bob before it started; nothing was imported."
    assert job_execute(job_id=job.pk) is None  # a worker picking it up later does nothing
    _nothing_written()


def test_cancel_while_running_writes_nothing(api, dataset, alice, monkeypatch):
    populate_objects(dataset, images=3, per_image=2)
    job = accepted_job(_post(api, "alice", dataset))
    real_progress = jobs_execute.JobMonitor.progress

    def cancel_when_writing(self, stage, done, total):
        if stage == "writing" and not self.job.cancel_requested:
            job_cancel(job=Job.objects.get(pk=self.job.pk), user=alice)  # another request
        real_progress(self, stage, done, total)

    monkeypatch.setattr(jobs_execute.JobMonitor, "progress", cancel_when_writing)
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.message == "Cancelled; nothing was imported."
    _nothing_written()
