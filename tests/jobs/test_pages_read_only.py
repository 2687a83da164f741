"""Job pages, the job API and the dataset's import page only read: a job whose worker died is
shown as not responding (from its heartbeat) and is failed by a worker's recovery step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from curation.jobs.services import DEAD_WORKER_MESSAGE
from curation.jobs.workers import worker_recover
from curation.models import Job

pytestmark = pytest.mark.django_db
Status = Job.Status
SILENT = "The worker running this job is not responding"


@pytest.fixture
def dead_job(dataset, alice, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    old = timezone.now() - timedelta(seconds=120)
    return Job.objects.create(
        dataset=dataset,
        dataset_name=dataset.name,
        created_by=alice,
        status=Status.RUNNING,
        stage="images",
        total=10,
        worker_id="gone-host-4242",
        started_at=old,
        heartbeat_at=old,
    )


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_viewing_a_dead_job_says_so_and_writes_nothing(client, request, who, dead_job, dataset):
    client.force_login(request.getfixturevalue(who))
    page = client.get(reverse("job-detail", args=[dead_job.pk])).content.decode()
    assert SILENT in page
    assert client.get(f"/api/jobs/{dead_job.pk}/").json()["status"] == "running"
    client.get(reverse("dataset-import", args=[dataset.pk]))
    dead_job.refresh_from_db()
    assert dead_job.status == Status.RUNNING and dead_job.error == ""


def test_outsiders_do_not_see_it(client, charlie, dead_job):
    client.force_login(charlie)
    assert client.get(reverse("job-detail", args=[dead_job.pk])).status_code == 404
    dead_job.refresh_from_db()
    assert dead_job.status == Status.RUNNING


def test_the_worker_recovery_step_fails_it_and_the_page_shows_why(client, alice, dead_job):
    assert worker_recover() == [dead_job.pk]
    client.force_login(alice)
    page = client.get(reverse("job-detail", args=[dead_job.pk])).content.decode()
    dead_job.refresh_from_db()
    assert dead_job.status == Status.FAILED and dead_job.error == DEAD_WORKER_MESSAGE
    assert SILENT not in page and "stopped responding" in page
