"""Each job kind's own sentences (``jobs.finish.JOB_WORDS``) when it did not run: cancelled
while queued (by the owner, by a team member), its worker died, it never reached the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from curation.jobs.finish import JOB_WORDS
from curation.jobs.recover import jobs_recover
from curation.jobs.services import job_cancel
from curation.models import Dataset, Job

Status = Job.Status

CANCELLED = {
    "import": "Cancelled by {who} before it started; nothing was imported.",
    "delete": "Cancelled by {who} before it started; the dataset was not changed.",
    "scores": "Cancelled by {who} before it started; the metadata 'typ' was not changed.",
    "embed": "Cancelled by {who} before it started; the space 'clip' was not changed.",
}
DEAD = {
    "import": "The worker running this import stopped responding; nothing was imported. "
    "Start it again.",
    "delete": "The worker running this deletion stopped responding; the dataset stays hidden: "
    "delete it again to finish.",
    "scores": "The worker computing this score metadata stopped responding; the metadata 'typ' "
    "was not changed. Start it again.",
    "embed": "The worker computing these embeddings stopped responding; the space 'clip' was "
    "not changed. Start it again.",
}
NEVER_QUEUED = {
    "import": "This import never reached the task queue; nothing was imported.",
    "delete": "This deletion never reached the task queue; the dataset was not changed.",
    "scores": "This score computation never reached the task queue; the metadata 'typ' was not "
    "changed.",
    "embed": "This embedding computation never reached the task queue; the space 'clip' was not "
    "changed.",
}
KINDS = list(CANCELLED)


def _job(dataset: Dataset, user, kind: str, **fields) -> Job:
    options = {
        "import": {},
        "delete": {"dataset_id": dataset.pk},
        "scores": {"kind": "typicality", "space": "clip", "metadata_name": "typ"},
        "embed": {"space": "clip", "model": "clip-b32"},
    }[kind]
    return Job.objects.create(
        kind=kind, dataset=dataset, dataset_name=dataset.name, options=options, created_by=user,
        **fields,
    )  # fmt: skip


def test_every_job_kind_has_its_own_words() -> None:
    assert set(JOB_WORDS) == set(Job.Kind.values) == set(KINDS)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", ["alice", "bob"])
def test_cancel_before_start_says_what_was_left(kind, who, request, dataset, alice) -> None:
    user = request.getfixturevalue(who)
    job = _job(dataset, alice, kind)
    if kind == "delete" and who == "bob":  # only those who may delete the dataset decide
        job.created_by = None
    else:
        job_cancel(job=job, user=user)
        assert job.status == Status.CANCELLED
        assert job.message == CANCELLED[kind].format(who=who)
        return
    with pytest.raises(PermissionDenied, match="Only the dataset's owner"):
        job_cancel(job=job, user=user)
    assert Job.objects.get(pk=job.pk).status == Status.QUEUED


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_dead_worker_is_worded_for_its_kind(kind, dataset, alice, settings) -> None:
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    old = timezone.now() - timedelta(seconds=60)
    job = _job(
        dataset, alice, kind, status=Status.RUNNING, worker_id="gone-host-4242",
        heartbeat_at=old, started_at=old,
    )  # fmt: skip
    assert jobs_recover() == [job.pk]
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error == DEAD[kind]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_job_that_never_reached_the_queue_is_worded_for_its_kind(
    kind, dataset, alice, settings
) -> None:
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 10
    job = _job(dataset, alice, kind)
    Job.objects.filter(pk=job.pk).update(created=timezone.now() - timedelta(seconds=60))
    assert jobs_recover() == [job.pk]
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error == NEVER_QUEUED[kind]
