"""Every filesystem access of a per-dataset file goes through the checked join: exports never
replace or write outside their folders, recomputing metadata never reads outside the image
folder, images are never served from outside it, deletes never follow links (issue 10.1).

Rows with unsafe names are created directly, as a database written before the fix could hold
them; the files on disk are checked byte for byte afterwards."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from curation.datasets.services import dataset_delete
from curation.imports.metadata_recompute import sample_metadata_recompute
from curation.models import AnnotationTask, Dataset, Sample, Tag, TagSample
from curation.storage.embeddings import embedding_files_sweep
from curation.tags.export import ExportError, tag_export
from tests.support.ingest import make_image, make_images


@pytest.fixture
def layout(tmp_path, dataset):
    """``images/`` (the dataset's folder) with a.jpg and sub/b.jpg, and ``outside/v.jpg``."""
    images = make_images(tmp_path / "images", ["a.jpg", "sub/b.jpg"], size=(20, 10))
    outside = make_image(tmp_path / "outside" / "v.jpg", 9, size=(20, 10))
    dataset.image_root = str(images.resolve())
    dataset.save()
    return images, outside


def tag_of(dataset: Dataset, names: list[str]) -> Tag:
    tag = Tag.objects.create(dataset=dataset, name="picked")
    for name in names:
        sample, _ = Sample.objects.get_or_create(
            dataset=dataset, file_name=name, defaults={"width": 20, "height": 10}
        )
        TagSample.objects.create(tag=tag, sample=sample)
    return tag


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(folder.rglob("*"))
    }


# -- copy / link exports -------------------------------------------------------------------------


def test_copy_export_into_the_image_folder_refuses_and_deletes_nothing(dataset, layout, tmp_path):
    """The issue: source and destination resolve to the same file, which was unlinked first."""
    images, _ = layout
    tag = tag_of(dataset, ["a.jpg", "sub/b.jpg"])
    before = snapshot(tmp_path)

    with pytest.raises(ExportError) as caught:
        tag_export(
            dataset=dataset, tag=tag, format="filenames", output=tmp_path / "o.txt", copy_to=images
        )

    assert str(caught.value) == (
        f"a.jpg already exists in {images}: export into an empty folder, nothing was copied."
    )
    assert snapshot(tmp_path) == before  # the output file was not written either


@pytest.mark.parametrize("mode", ["copy_to", "symlink_to"])
def test_a_colliding_destination_is_left_intact(dataset, layout, tmp_path, mode):
    tag = tag_of(dataset, ["a.jpg", "sub/b.jpg"])
    target = tmp_path / "export"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "b.jpg").write_bytes(b"precious")

    with pytest.raises(ExportError, match=r"^sub/b.jpg already exists in"):
        tag_export(
            dataset=dataset,
            tag=tag,
            format="filenames",
            output=tmp_path / "o.txt",
            **{mode: target},
        )

    assert (target / "sub" / "b.jpg").read_bytes() == b"precious"
    assert sorted(p.name for p in target.rglob("*")) == ["b.jpg", "sub"]  # no a.jpg


def test_an_unsafe_name_is_never_copied_nor_the_outside_file_touched(dataset, layout, tmp_path):
    _, outside = layout
    original = outside.read_bytes()
    tag = tag_of(dataset, ["a.jpg", "../outside/v.jpg"])
    with pytest.raises(ExportError) as caught:
        tag_export(
            dataset=dataset,
            tag=tag,
            format="filenames",
            output=tmp_path / "o.txt",
            copy_to=tmp_path / "export",
        )
    assert str(caught.value) == (
        "The file name '../outside/v.jpg' contains a '..' segment (the image folder): nothing "
        "was copied."
    )
    assert outside.read_bytes() == original
    assert not (tmp_path / "export").exists() and not (tmp_path / "o.txt").exists()


def test_a_symlinked_image_leading_outside_is_not_copied(dataset, layout, tmp_path):
    images, outside = layout
    os.symlink(outside, images / "link.jpg")
    tag = tag_of(dataset, ["link.jpg"])
    with pytest.raises(ExportError, match="leads outside its folder through a symlink"):
        tag_export(
            dataset=dataset,
            tag=tag,
            format="filenames",
            output=tmp_path / "o.txt",
            copy_to=tmp_path / "export",
        )
    assert not (tmp_path / "export").exists()


def test_a_failure_midway_removes_only_what_the_export_created(
    dataset, layout, tmp_path, monkeypatch
):
    tag = tag_of(dataset, ["a.jpg", "sub/b.jpg"])
    target = tmp_path / "export"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    real_copy = shutil.copyfileobj
    calls = []

    def copy_then_fail(reader, writer):  # the disk fills up on the second file
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_copy(reader, writer)

    monkeypatch.setattr("curation.tags.export.shutil.copyfileobj", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        tag_export(
            dataset=dataset,
            tag=tag,
            format="filenames",
            output=tmp_path / "o.txt",
            copy_to=target,
        )
    assert len(calls) == 2
    assert snapshot(target) == {"mine.txt": b"keep me"}


def test_a_good_copy_export_copies_into_sub_folders(dataset, layout, tmp_path):
    images, _ = layout
    tag = tag_of(dataset, ["a.jpg", "sub/b.jpg"])
    summary = tag_export(
        dataset=dataset,
        tag=tag,
        format="filenames",
        output=tmp_path / "o.txt",
        copy_to=tmp_path / "export",
    )
    assert summary.files_copied == 2
    assert (tmp_path / "export" / "sub" / "b.jpg").read_bytes() == (
        images / "sub" / "b.jpg"
    ).read_bytes()


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="root-password")


def test_cli_export_with_a_collision_is_one_sentence_and_changes_nothing(
    admin, dataset, layout, tmp_path
):
    images, _ = layout
    tag_of(dataset, ["a.jpg"])
    before = snapshot(images)
    with pytest.raises(CommandError) as caught:
        call_command(
            "export_tag",
            dataset.name,
            "picked",
            "--output",
            str(tmp_path / "o.txt"),
            "--copy-to",
            str(images),
            stdout=StringIO(),
        )
    assert str(caught.value) == (
        f"error: a.jpg already exists in {images}: export into an empty folder, nothing was copied."
    )
    assert snapshot(images) == before


# -- YOLO ----------------------------------------------------------------------------------------


def test_yolo_export_stays_in_its_folder(dataset, layout, tmp_path):
    AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="detection", categories=["cat"]
    )
    good = tag_of(dataset, ["a.jpg", "sub/b.jpg"])
    out = tmp_path / "yolo"
    tag_export(dataset=dataset, tag=good, format="yolo", output=out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt")) == [
        "images.txt",
        "labels/a.txt",
        "labels/sub/b.txt",
    ]

    good.delete()
    evil = tag_of(dataset, ["a.jpg", "../../escape/x.jpg"])
    before = snapshot(tmp_path)
    with pytest.raises(ExportError) as caught:
        tag_export(dataset=dataset, tag=evil, format="yolo", output=tmp_path / "yolo2")
    assert str(caught.value) == (
        "The file name '../../escape/x.jpg' contains a '..' segment: file names must be "
        "relative paths inside the dataset's folder; nothing was exported."
    )
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "escape").exists()


# -- recompute built-in metadata -----------------------------------------------------------------


def test_recompute_metadata_never_reads_outside_the_image_folder(dataset, layout):
    images, outside = layout
    os.symlink(outside, images / "planted.jpg")
    for name in ("a.jpg", "planted.jpg", "../outside/v.jpg"):
        Sample.objects.create(dataset=dataset, file_name=name, metadata={"custom": 1})

    updated, failures = sample_metadata_recompute(samples=Sample.objects.order_by("pk"))

    assert updated == 1
    assert failures == [
        "planted.jpg: refused, leads outside its folder through a symlink (not read)",
        "../outside/v.jpg: refused, contains a '..' segment (not read)",
    ]
    rows = dict(Sample.objects.values_list("file_name", "metadata"))
    assert rows["planted.jpg"] == {"custom": 1} and rows["../outside/v.jpg"] == {"custom": 1}
    assert rows["a.jpg"]["lightly.width"] == 20 and rows["a.jpg"]["custom"] == 1


def test_the_admin_action_reports_the_refused_files(client, admin, dataset, layout):
    images, outside = layout
    os.symlink(outside, images / "planted.jpg")
    Sample.objects.create(dataset=dataset, file_name="planted.jpg", metadata={})
    client.force_login(admin)
    response = client.post(
        reverse("admin:curation_dataset_changelist"),
        {"action": "recompute_builtin_metadata", "_selected_action": [dataset.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 images could not be read (planted.jpg: refused, leads outside its folder" in page
    assert Sample.objects.get(file_name="planted.jpg").metadata == {}


# -- serving, deleting, sweeping -----------------------------------------------------------------


def test_images_of_unsafe_rows_are_never_served(client, alice, dataset, layout):
    images, outside = layout
    os.symlink(outside, images / "planted.jpg")
    client.force_login(alice)
    for name in ("../outside/v.jpg", "planted.jpg", str(outside)):
        sample = Sample.objects.create(dataset=dataset, file_name=name)
        assert client.get(reverse("sample-image", args=[sample.pk])).status_code == 404
        assert client.get(reverse("sample-thumbnail", args=[sample.pk])).status_code == 404
    good = Sample.objects.create(dataset=dataset, file_name="sub/b.jpg")
    assert client.get(reverse("sample-image", args=[good.pk])).status_code == 200


def test_deleting_a_dataset_never_follows_a_linked_media_folder(dataset, tmp_path):
    precious = make_images(tmp_path / "precious", ["p.jpg"])
    media = Path(settings.MEDIA_ROOT) / "datasets"
    media.mkdir(parents=True)
    os.symlink(precious, media / str(dataset.pk))
    with pytest.raises(ValueError, match="leads outside its folder"):
        dataset_delete(dataset=dataset)
    assert (precious / "p.jpg").is_file()


def test_the_embedding_sweep_never_deletes_through_a_link(db, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    np.save(elsewhere / "keep.npy", np.zeros(2))
    root = Path(settings.CURATION_EMBEDDINGS_ROOT)
    (root / "1").mkdir(parents=True)
    np.save(root / "1" / "orphan.npy", np.zeros(2))
    os.symlink(elsewhere, root / "2")
    assert embedding_files_sweep() == 1
    assert (elsewhere / "keep.npy").is_file() and not (root / "1" / "orphan.npy").exists()


def test_a_web_export_of_a_dataset_with_a_path_like_name_writes_only_its_temp_file(
    client, alice, dataset, layout, tmp_path, monkeypatch
):
    """Dataset and tag names are data, never part of a server path."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp" / "a" / "b").mkdir(parents=True)
    dataset.name = "../../escape/x"
    dataset.save()
    tag = tag_of(dataset, ["a.jpg"])
    before = snapshot(tmp_path)
    client.force_login(alice)
    response = client.get(reverse("tag-export", args=[dataset.pk, tag.pk]) + "?format=filenames")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a.jpg\n"
    assert "x-picked.txt" in response["Content-Disposition"]
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "escape").exists()
