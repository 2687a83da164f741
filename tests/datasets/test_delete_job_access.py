"""Deleting a dataset, who may and what others see: while the delete job runs the dataset is
hidden and every page, endpoint and service refuses it with one sentence; only those who may
delete it (alice, not bob or charlie) can start or cancel the deletion; the admin's delete starts
the job. (``filled`` comes from ``tests/support/deletion.py``.)
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from curation.datasets.delete import dataset_delete_start
from curation.datasets.services import DatasetError
from curation.jobs.services import JobError, import_job_start, job_execute
from curation.models import (
    Dataset,
    Job,
    SelectionRun,
)
from curation.runs.services import SelectionRunError, selection_run_start
from tests.support.jobs import accepted_job

Status = Job.Status
DELETING = "Dataset 'cats' is being deleted (job {}): it can no longer be opened or changed."


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
