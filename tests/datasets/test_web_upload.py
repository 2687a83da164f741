""" "New dataset" from the web: any number of files, sub-folders kept (the relative paths come
in a parallel file part), bad names refused with a sentence and nothing written; the job page
and its Cancel button at every access level."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from curation.jobs.services import job_execute
from curation.models import Dataset, Job, Sample
from tests.support.uploads import media_files, paths_file, png

pytestmark = pytest.mark.django_db


def test_more_than_100_files_in_sub_folders_all_arrive(alice, web_import):
    names = [f"{folder}/x_{i:03d}.png" for folder in ("a", "b") for i in range(60)]
    images = [png(name.rsplit("/", 1)[1], i) for i, name in enumerate(names)]
    response, job = web_import(alice, "folders", images, relative_paths=paths_file(names))
    assert response.status_code == 302, response.content.decode()[:500]
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    dataset = Dataset.objects.get(name="folders")
    stored = sorted(Sample.objects.filter(dataset=dataset).values_list("file_name", flat=True))
    assert stored == sorted(names) and len(stored) == 120  # a/x_000.png and b/x_000.png both
    uploaded = [f for f in media_files() if f.startswith(f"datasets/{dataset.pk}/upload/images/")]
    assert len(uploaded) == 120
    assert f"datasets/{dataset.pk}/upload/images/b/x_000.png" in uploaded


def test_without_the_paths_part_flat_files_keep_their_names(alice, web_import):
    response, job = web_import(alice, "flat", [png("one.png"), png("two.png")])
    assert response.status_code == 302
    job_execute(job_id=job.pk)
    assert sorted(Sample.objects.values_list("file_name", flat=True)) == ["one.png", "two.png"]


@pytest.mark.parametrize(
    "names,message",
    [
        (["a/x.png", "a/x.png"], "Two uploaded images are both named 'a/x.png'"),
        (["../x.png", "y.png"], "The file name '../x.png' contains a '..' segment"),
        (["/etc/x.png", "y.png"], "The file name '/etc/x.png' is an absolute path"),
    ],
)
def test_bad_relative_names_are_refused_and_nothing_is_written(alice, web_import, names, message):
    images = [png("x.png"), png("y.png")]
    response, job = web_import(alice, "bad", images, relative_paths=paths_file(names))
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert job is None and not Dataset.objects.filter(name="bad").exists()
    assert media_files() == []


def test_two_flat_files_with_one_name_are_refused(alice, web_import):
    response, job = web_import(alice, "dup", [png("x.png"), png("x.png")])
    assert response.status_code == 400
    assert "both named 'x.png'" in html.unescape(response.content.decode())
    assert job is None and media_files() == []


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_job_page_access(client, request, dataset, alice, who, status):
    job = Job.objects.create(dataset=dataset, dataset_name=dataset.name, created_by=alice)
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("job-detail", args=[job.pk]))
    assert response.status_code == status
    if status == 200:
        text = response.content.decode()
        assert f'ws-connect="/ws/jobs/{job.pk}/"' in text and ">Cancel</button>" in text
        assert "Reload</a> to see the progress" in text  # works without JS
    fragment = client.get(reverse("job-detail", args=[job.pk]), headers={"HX-Request": "true"})
    if status == 200:
        assert b"<html" not in fragment.content and b'id="job-progress"' in fragment.content


@pytest.mark.parametrize(("who", "status"), [("alice", 302), ("bob", 302), ("charlie", 404)])
def test_job_cancel_view_access(client, request, dataset, alice, who, status):
    job = Job.objects.create(dataset=dataset, dataset_name=dataset.name, created_by=alice)
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("job-cancel", args=[job.pk]))
    assert response.status_code == status
    job.refresh_from_db()
    assert job.status == (Job.Status.CANCELLED if status == 302 else Job.Status.QUEUED)
    if status == 302:
        page = client.get(response["Location"]).content.decode()
        assert "Cancelled by" in page and ">Cancel</button>" not in page


def test_anonymous_is_sent_to_login(client, dataset, alice):
    job = Job.objects.create(dataset=dataset, dataset_name=dataset.name, created_by=alice)
    response = client.get(reverse("job-detail", args=[job.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
