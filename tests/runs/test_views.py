"""The run page: progress fragment, cancel and re-run buttons; a dead worker is shown (read from
the heartbeat) and failed by a worker's recovery step, never by the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from curation.jobs.workers import worker_recover
from curation.models import SelectionRun, Tag
from curation.runs.services import DEAD_WORKER_MESSAGE, selection_run_start
from tests.support.selection import diversity, populate

Status = SelectionRun.Status


@pytest.fixture
def queued(dataset, alice):
    populate(dataset, n=20)
    return selection_run_start(
        dataset=dataset, config=diversity(4), result_tag_name="picked", user=alice
    )


def _running(run, *, started_seconds_ago=10, progress=0.25, picks=1):
    started = timezone.now() - timedelta(seconds=started_seconds_ago)
    SelectionRun.objects.filter(pk=run.pk).update(
        status=Status.RUNNING,
        started_at=started,
        heartbeat_at=timezone.now(),
        progress=progress,
        picks_done=picks,
    )


def test_the_page_shows_progress_elapsed_and_eta(client, alice, queued):
    _running(queued, started_seconds_ago=600, progress=0.5, picks=2)
    client.force_login(alice)
    text = client.get(reverse("run-detail", args=[queued.pk])).content.decode()
    assert 'id="run-progress"' in text and f'ws-connect="/ws/runs/{queued.pk}/"' in text
    assert "50%" in text and "2 of 4 picks" in text and "from 20 candidates" in text
    assert re.search(r"elapsed 10 min 0\d s", text) and re.search(r"about 10 min 0\d s left", text)
    assert reverse("run-cancel", args=[queued.pk]) in text
    assert reverse("run-rerun", args=[queued.pk]) not in text


def test_htmx_gets_only_the_fragment(client, alice, queued):
    client.force_login(alice)
    response = client.get(reverse("run-detail", args=[queued.pk]), headers={"HX-Request": "true"})
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="run-progress"') and "<html" not in text


def test_a_succeeded_run_shows_its_tag_and_count(client, alice, dataset):
    populate(dataset, n=20)
    run = selection_run_start(
        dataset=dataset, config=diversity(4), result_tag_name="best", user=alice, execute="inline"
    )
    client.force_login(alice)
    text = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "Selected <strong>4</strong> of 20 candidates" in text
    assert "<code>best</code>" in text and "(4 samples)" in text
    assert reverse("run-cancel", args=[run.pk]) not in text
    assert reverse("run-results", args=[run.pk]) in text  # the result section loads lazily


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_members_can_cancel(client, request, queued, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("run-cancel", args=[queued.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("run-detail", args=[queued.pk])
    queued.refresh_from_db()
    assert queued.status == Status.CANCELLED and f"Cancelled by {who}" in queued.message


def test_cancel_with_htmx_returns_the_updated_fragment(client, alice, queued):
    _running(queued)
    client.force_login(alice)
    response = client.post(reverse("run-cancel", args=[queued.pk]), headers={"HX-Request": "true"})
    text = response.content.decode()
    assert 'id="run-progress"' in text and "Cancelling…" in text
    queued.refresh_from_db()
    assert queued.status == Status.RUNNING and queued.cancel_requested


def test_cancelling_a_finished_run_says_why(client, alice, queued):
    SelectionRun.objects.filter(pk=queued.pk).update(status=Status.FAILED, error="x")
    client.force_login(alice)
    response = client.post(reverse("run-cancel", args=[queued.pk]), follow=True)
    assert "has already finished (failed); there is nothing to cancel" in response.content.decode()


def test_outsiders_and_anonymous_cannot_cancel_or_rerun(client, charlie, queued):
    for name in ("run-cancel", "run-rerun"):
        assert client.post(reverse(name, args=[queued.pk])).status_code == 302  # to login
        client.force_login(charlie)
        assert client.post(reverse(name, args=[queued.pk])).status_code == 404
        client.logout()
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED
    assert SelectionRun.objects.count() == 1


def test_cancel_and_rerun_need_post(client, alice, queued):
    client.force_login(alice)
    assert client.get(reverse("run-cancel", args=[queued.pk])).status_code == 405
    assert client.get(reverse("run-rerun", args=[queued.pk])).status_code == 405


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_viewing_a_run_whose_worker_died_says_so_and_writes_nothing(
    client, request, who, queued, settings
):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    _running(queued, started_seconds_ago=600)
    SelectionRun.objects.filter(pk=queued.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    client.force_login(request.getfixturevalue(who))
    text = client.get(reverse("run-detail", args=[queued.pk])).content.decode()
    assert "The worker running this selection is not responding" in text
    queued.refresh_from_db()
    assert queued.status == Status.RUNNING and queued.error == ""  # a GET writes nothing
    assert client.get(reverse("api-run-detail", args=[queued.pk])).json()["status"] == "running"
    queued.refresh_from_db()
    assert queued.status == Status.RUNNING


def test_a_live_worker_is_not_reported_silent(client, alice, queued, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    _running(queued, started_seconds_ago=600)  # beat just now
    client.force_login(alice)
    text = client.get(reverse("run-detail", args=[queued.pk])).content.decode()
    assert "not responding" not in text


def test_outsiders_do_not_see_a_dead_run(client, charlie, queued, settings):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    _running(queued, started_seconds_ago=600)
    SelectionRun.objects.filter(pk=queued.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    client.force_login(charlie)
    assert client.get(reverse("run-detail", args=[queued.pk])).status_code == 404
    queued.refresh_from_db()
    assert queued.status == Status.RUNNING


def test_a_run_whose_worker_died_is_failed_by_recovery_and_offers_a_rerun(
    client, bob, queued, settings, django_capture_on_commit_callbacks
):
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 30
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    _running(queued, started_seconds_ago=600)
    SelectionRun.objects.filter(pk=queued.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    assert worker_recover() == [queued.pk]  # the worker loop's recovery step
    client.force_login(bob)
    text = client.get(reverse("run-detail", args=[queued.pk])).content.decode()
    assert DEAD_WORKER_MESSAGE in text
    assert "not responding" not in text
    assert reverse("run-rerun", args=[queued.pk]) in text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("run-rerun", args=[queued.pk]))
    again = SelectionRun.objects.exclude(pk=queued.pk).get()
    assert response["Location"] == reverse("run-detail", args=[again.pk])
    again.refresh_from_db()
    assert again.status == Status.SUCCEEDED and again.created_by == bob
    assert Tag.objects.get(name="picked").pk == again.result_tag_id


def test_rerun_with_htmx_redirects_the_browser(client, alice, queued):
    SelectionRun.objects.filter(pk=queued.pk).update(status=Status.CANCELLED)
    client.force_login(alice)
    response = client.post(reverse("run-rerun", args=[queued.pk]), headers={"HX-Request": "true"})
    again = SelectionRun.objects.exclude(pk=queued.pk).get()
    assert response["HX-Redirect"] == reverse("run-detail", args=[again.pk])
    assert again.status == Status.QUEUED and again.options["rerun_of"] == queued.pk


def test_a_rerun_that_cannot_start_says_why(client, alice, queued):
    SelectionRun.objects.filter(pk=queued.pk).update(status=Status.FAILED)
    Tag.objects.create(dataset=queued.dataset, name="picked")
    client.force_login(alice)
    response = client.post(reverse("run-rerun", args=[queued.pk]), follow=True)
    assert "a tag named &#x27;picked&#x27; already exists" in response.content.decode()
    assert SelectionRun.objects.count() == 1
