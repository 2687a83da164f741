"""Dataset pages: list with counts and cover, create (upload / folder) with import progress,
delete with confirmation."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from curation.jobs.services import job_execute
from curation.models import Dataset, ImportRoot, Job, Sample, SelectionRun, Tag


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def png(name: str, colour: int) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (colour, 0, 0)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_list_shows_counts_cover_owner_and_team(client, bob, dataset, samples):
    Tag.objects.create(dataset=dataset, name="t")
    SelectionRun.objects.create(dataset=dataset, config={}, result_tag_name="r")
    client.force_login(bob)
    text = client.get(reverse("dataset-list")).content.decode()
    assert "<strong>12</strong> samples" in text
    assert "<strong>1</strong> tags" in text and "<strong>1</strong> runs" in text
    assert reverse("sample-thumbnail", args=[samples[0].pk]) in text
    assert "alice" in text and "vision-team" in text


def test_list_query_count(client, alice, team, django_assert_max_num_queries):
    for i in range(10):
        Dataset.objects.create(name=f"d{i}", owner=alice, team=team)
    client.force_login(alice)
    # session, user, datasets, sample counts (+ savepoint, timeout, release on PostgreSQL)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("dataset-list"))
    assert response.content.decode().count('class="card dataset-card"') == 10


def test_create_from_upload_imports_in_the_background(
    client, bob, team, immediate_tasks, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("dataset-create"),
            {
                "name": "uploaded",
                "description": "two reds",
                "team": team.pk,
                "source": "upload",
                "images": [png("a.png", 10), png("b.png", 200)],
            },
        )
    response = client.get(reverse("dataset-import", args=[Dataset.objects.get(name="uploaded").pk]))
    dataset = Dataset.objects.get(name="uploaded")
    assert dataset.owner == bob and dataset.team == team
    assert sorted(dataset.samples.values_list("file_name", flat=True)) == ["a.png", "b.png"]
    assert "Import finished" in response.content.decode()
    fragment = client.get(
        reverse("dataset-import", args=[dataset.pk]), headers={"HX-Request": "true"}
    )
    assert b"<html" not in fragment.content and b'id="job-progress"' in fragment.content


def test_create_needs_images_and_allowed_folders(client, alice, settings, tmp_path):
    client.force_login(alice)
    response = client.post(reverse("dataset-create"), {"name": "x", "source": "upload"})
    assert response.status_code == 400 and "at least one image" in response.content.decode()
    settings.CURATION_IMPORT_ROOTS = []
    response = client.post(
        reverse("dataset-create"), {"name": "x", "source": "folder", "folder": str(tmp_path)}
    )
    assert "Importing server folders is off" in response.content.decode()
    assert not Dataset.objects.filter(name="x").exists()


def test_create_from_a_server_folder(
    client, alice, team, tmp_path, immediate_tasks, django_capture_on_commit_callbacks
):
    root = tmp_path / "imports"
    (root / "set").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "set" / "one.png")
    # Settings roots are staff-only (issue 10.2): alice uses her team's import root.
    ImportRoot.objects.create(path=str(root), name="imports", group=team)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("dataset-create"),
            {"name": "folder", "source": "folder", "folder": str(root / "set")},
        )
    assert list(Dataset.objects.get(name="folder").samples.values_list("file_name", flat=True)) == [
        "one.png"
    ]


def test_delete_is_for_the_owner_with_confirmation(client, alice, bob, dataset, samples):
    url = reverse("dataset-delete", args=[dataset.pk])
    client.force_login(bob)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    client.force_login(alice)
    assert "12 samples" in client.get(url).content.decode()
    response = client.post(url)
    job = Job.objects.get(kind=Job.Kind.DELETE)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert Dataset.objects.get(pk=dataset.pk).deleting  # hidden until the job ran
    job_execute(job_id=job.pk)  # as a worker would
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Sample.objects.exists()


def test_staff_may_delete(client, staff, dataset):
    client.force_login(staff)
    client.post(reverse("dataset-delete", args=[dataset.pk]))
    job_execute(job_id=Job.objects.get(kind=Job.Kind.DELETE).pk)
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_import_page_access(client, request, dataset, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("dataset-import", args=[dataset.pk])).status_code == status
    assert client.get(reverse("dataset-delete", args=[dataset.pk])).status_code == (
        200 if who == "alice" else 404
    )


def test_anonymous_is_sent_to_login(client, dataset):
    for url in (reverse("dataset-create"), reverse("dataset-delete", args=[dataset.pk])):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]
