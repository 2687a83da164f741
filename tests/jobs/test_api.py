"""``GET /api/jobs/<id>/`` and ``POST /api/jobs/<id>/cancel/`` at every access level, and the
OpenAPI schema naming the 202 answers."""

from __future__ import annotations

import pytest

from curation.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(dataset, alice):
    return Job.objects.create(
        dataset=dataset, dataset_name=dataset.name, created_by=alice, stage="images", total=10
    )


@pytest.mark.parametrize(
    "who,code", [("alice", 200), ("bob", 200), ("charlie", 404), ("anonymous", 401)]
)
def test_job_detail_access(api, job, who, code):
    response = api(who).get(f"/api/jobs/{job.pk}/")
    assert response.status_code == code
    if code == 200:
        body = response.json()
        assert body["id"] == job.pk and body["status"] == "queued" and body["kind"] == "import"
        assert (body["dataset"], body["dataset_name"], body["created_by"]) == (
            job.dataset_id,
            "cats",
            "alice",
        )
        assert body["summary"] == {} and body["error"] == ""
    elif code == 404:
        assert response.json() == {"detail": "No such job."}


@pytest.mark.parametrize(
    "who,code", [("alice", 200), ("bob", 200), ("charlie", 404), ("anonymous", 401)]
)
def test_cancel_access(api, job, who, code):
    response = api(who).post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == code
    job.refresh_from_db()
    if code == 200:
        assert response.json()["status"] == "cancelled" == job.status
        assert job.message == f"Cancelled by {who} before it started; nothing was imported."
    else:
        assert job.status == Job.Status.QUEUED


def test_cancelling_a_finished_job_is_400(api, job):
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
    response = api("bob").post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Job {job.pk} has already finished (succeeded); there is nothing to cancel."
    }


def test_a_job_whose_dataset_was_removed_stays_visible_to_its_creator(api, job, dataset):
    dataset.delete()
    assert api("alice").get(f"/api/jobs/{job.pk}/").json()["dataset"] is None
    assert api("bob").get(f"/api/jobs/{job.pk}/").status_code == 404


def test_staff_sees_every_job(api, job):
    assert api("staff").get(f"/api/jobs/{job.pk}/").status_code == 200


def test_unknown_job_is_404(api, alice):
    assert api("alice").get("/api/jobs/999999/").status_code == 404


def test_the_schema_documents_jobs_and_202_uploads(api, alice):
    schema = api("alice").get("/api/schema/?format=json").json()
    assert "/api/jobs/{job_id}/" in schema["paths"]
    assert "/api/jobs/{job_id}/cancel/" in schema["paths"]
    for path in ("metadata", "annotations", "predictions", "embeddings", "import"):
        operation = schema["paths"][f"/api/datasets/{{dataset_id}}/{path}/"]["post"]
        assert "202" in operation["responses"], path
