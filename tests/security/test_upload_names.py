"""Uploaded names no file system can hold (issue 10 red team): a lone surrogate, a folder or
file name over 255 bytes, a name over 1024 characters, an image named like another's folder, a
path list nested too deeply. Each is one sentence with a 400 (or a job that fails with one),
never a 500, and nothing is written."""

from __future__ import annotations

import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from curation.imports.services import IngestError, dataset_import
from curation.jobs.services import job_execute
from curation.models import Dataset, Job, Sample
from curation.storage.paths import fit_file_name, validate_sample_file_name
from tests.support.uploads import media_files, paths_file, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def samples(three_samples):
    """This module's ``samples``: the API fixture's three samples."""
    return three_samples


LONG_PART = "x" * 300 + ".png"
LONG_NAME = "/".join(["y" * 200] * 6) + ".png"  # every part fits, the whole does not


@pytest.mark.parametrize(
    "names,message",
    [
        (
            ["a/\ud800.png", "b.png"],
            "The file name 'a/\\ud800.png' contains an unpaired surrogate, which is not text",
        ),
        (
            [f"a/{LONG_PART}", "b.png"],
            f"The file name 'a/{LONG_PART}' has a folder or file name longer than 255 bytes",
        ),
        ([LONG_NAME, "b.png"], "is longer than 1024 characters"),
        (
            ["a", "a/b.png"],
            "The uploaded image 'a' has the name of the folder of 'a/b.png': rename one of them.",
        ),
        (
            ["a/b.png", "a/b.png/c.png"],
            "The uploaded image 'a/b.png' has the name of the folder of 'a/b.png/c.png'",
        ),
    ],
)
def test_names_no_file_system_can_hold_are_refused_with_a_sentence(
    alice, web_import, names, message
):
    images = [png("x.png"), png("y.png", 1)]
    response, job = web_import(alice, "bad", images, relative_paths=paths_file(names))
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert job is None and not Dataset.objects.filter(name="bad").exists()
    assert media_files() == []


def test_a_path_list_nested_too_deeply_is_ignored_like_any_unusable_list(alice, web_import):
    deep = SimpleUploadedFile("relative-paths.json", b"[" * 100_000)
    response, job = web_import(alice, "deep", [png("x.png"), png("y.png", 1)], relative_paths=deep)
    assert response.status_code == 302
    job_execute(job_id=job.pk)
    assert sorted(Sample.objects.values_list("file_name", flat=True)) == ["x.png", "y.png"]


def test_a_side_file_with_a_long_multibyte_name_is_stored_under_a_shortened_name(
    api, dataset, samples
):
    name = "\u00e9" * 200 + ".csv"  # 200 characters, 405 bytes: fits Django, not the disk
    csv = SimpleUploadedFile(name, b"file_name,w\na.jpg,7\n")
    response = api("alice").post(
        f"/api/datasets/{dataset.pk}/metadata/", {"file": csv}, format="multipart"
    )
    assert response.status_code == 202, response.content[:300]
    job = Job.objects.get(pk=response.json()["job"])
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Sample.objects.get(dataset=dataset, file_name="a.jpg").metadata["w"] == 7


def test_a_web_side_file_with_a_long_multibyte_name_is_accepted(alice, web_import):
    metadata = SimpleUploadedFile("\u00e9" * 200 + ".csv", b"file_name,w\nx.png,3\n")
    response, job = web_import(alice, "side", [png("x.png")], metadata=metadata)
    assert response.status_code == 302
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Sample.objects.get(file_name="x.png").metadata["w"] == 3


def test_a_coco_file_name_over_the_limits_fails_the_import_with_its_place(dataset, tmp_path):
    coco = {
        "images": [{"id": 1, "file_name": LONG_PART, "width": 4, "height": 4}],
        "annotations": [],
        "categories": [{"id": 1, "name": "cat"}],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(coco))
    with pytest.raises(IngestError) as refused:
        dataset_import(dataset=dataset, annotations=path, embed="never")
    assert "has a folder or file name longer than 255 bytes" in str(refused.value)
    assert str(tmp_path) not in str(refused.value)
    assert Sample.objects.count() == 0


def test_fit_file_name_keeps_the_extension_and_whole_characters():
    assert fit_file_name("short.csv") == "short.csv"
    fitted = fit_file_name("\u00e9" * 200 + ".csv")
    assert fitted.endswith(".csv") and len(fitted.encode()) <= 255
    assert fitted.startswith("\u00e9" * 125)
    assert len(fit_file_name("z" * 400).encode()) == 255


def test_normal_long_names_still_pass():
    name = "/".join(["d" * 255] * 3)  # 767 characters, every part exactly 255 bytes
    assert validate_sample_file_name(name) == name
