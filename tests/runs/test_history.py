"""A dataset's run history: status, who, duration, config, links; polling while runs are active."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from curation.models import SelectionRun

HX = {"HTTP_HX_REQUEST": "true"}
CONFIG = {
    "n_samples": 3,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


@pytest.fixture
def runs(dataset, alice, bob):
    now = timezone.now()
    done = SelectionRun.objects.create(
        dataset=dataset,
        config=CONFIG,
        result_tag_name="first-pick",
        created_by=alice,
        status="succeeded",
        started_at=now - timedelta(seconds=4),
        finished_at=now,
        candidate_count=40,
        selected_count=3,
    )
    failed = SelectionRun.objects.create(
        dataset=dataset,
        config=CONFIG,
        result_tag_name="broken",
        created_by=bob,
        status="failed",
        error="metadata key missing",
    )
    return done, failed


def url(dataset):
    return reverse("run-history", args=[dataset.pk])


def test_it_requires_login(client, dataset):
    response = client.get(url(dataset))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_outsiders_get_404(client, charlie, dataset, runs):
    client.force_login(charlie)
    assert client.get(url(dataset)).status_code == 404


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_lists_runs_with_status_who_duration_config_and_links(
    client, request, who, dataset, runs
):
    done, failed = runs
    client.force_login(request.getfixturevalue(who))
    html = client.get(url(dataset)).content.decode()
    assert "<html" in html
    row = html.split(f'id="run-{done.pk}"')[1].split("</tr>")[0]
    assert reverse("run-detail", args=[done.pk]) in row
    assert "Succeeded" in row and "first-pick" in row and "alice" in row and "4.0 s" in row
    assert "3 of 40 candidates" in row and "DIVERSITY" in row
    assert "&quot;n_samples&quot;: 3" in row  # collapsible JSON
    row = html.split(f'id="run-{failed.pk}"')[1].split("</tr>")[0]
    assert "Failed" in row and "metadata key missing" in row and "bob" in row


def test_htmx_gets_the_runs_fragment_and_filters_by_status(client, alice, dataset, runs):
    client.force_login(alice)
    html = client.get(url(dataset), {"status": "failed"}, **HX).content.decode()
    assert html.lstrip().startswith('<section id="runs"')
    assert "broken" in html and "first-pick" not in html


def test_it_polls_only_while_a_run_is_active(client, alice, dataset, runs):
    client.force_login(alice)
    assert 'hx-trigger="every 3s"' not in client.get(url(dataset), **HX).content.decode()
    SelectionRun.objects.create(
        dataset=dataset, config=CONFIG, result_tag_name="busy", status="running"
    )
    assert 'hx-trigger="every 3s"' in client.get(url(dataset), **HX).content.decode()


def test_other_datasets_runs_are_not_listed(client, alice, dataset, private_dataset, runs):
    SelectionRun.objects.create(dataset=private_dataset, config=CONFIG, result_tag_name="elsewhere")
    client.force_login(alice)
    assert "elsewhere" not in client.get(url(dataset)).content.decode()
