"""``manage.py import_dataset``: the headless import and its error contract."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from curation.models import Dataset, EmbeddingSpace, Sample, Tag
from tests.support.ingest import (
    assert_nothing_written,
    lightly_csv,
    make_images,
    write_csv,
    write_json,
)

NAMES = ["a.jpg", "b.jpg", "c.png"]


@pytest.fixture
def admin(db):
    return User.objects.create_superuser("root", password="root-password")


@pytest.fixture
def files(tmp_path):
    folder = make_images(tmp_path / "images", NAMES)
    (folder / "broken.jpg").write_bytes(b"nope")
    emb = lightly_csv(
        tmp_path / "emb.csv", NAMES, np.eye(3), selected=[1, 0, 0], labels=["x", "y", "x"]
    )
    meta = write_csv(tmp_path / "meta.csv", ["file_name", "split"], [["a.jpg", "train"]])
    return folder, emb, meta


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_dataset", *args, "--workers", "0", stdout=out)
    return out.getvalue()


def test_it_creates_the_dataset_for_the_first_admin_and_prints_a_summary(admin, files):
    folder, emb, meta = files
    output = run(
        "street", "--images", str(folder), "--embeddings", str(emb), "--metadata", str(meta)
    )

    dataset = Dataset.objects.get(name="street")
    assert dataset.owner == admin
    assert Sample.objects.filter(dataset=dataset).count() == 3
    assert "Dataset 'street' (created)." in output
    assert "Images: 3 added, 0 skipped (already there), 1 failed." in output
    assert "failed: broken.jpg" in output
    assert "Embeddings 'default': 3 x 3." in output
    assert "Tag 'selected': +1 samples." in output
    assert "Time:" in output

    again = run("street", "--images", str(folder))
    assert "Dataset 'street' (existing)." in again
    assert "Images: 0 added, 3 skipped" in again


def test_it_uses_the_named_owner(alice, files):
    folder, _, _ = files
    run("mine", "--images", str(folder), "--owner", "alice", "--embed", "never")
    assert Dataset.objects.get(name="mine").owner == alice
    assert not EmbeddingSpace.objects.exists()


def test_it_needs_an_owner(db, files):
    folder, _, _ = files
    with pytest.raises(CommandError, match=r"^error: no admin account exists"):
        run("x", "--images", str(folder))
    with pytest.raises(CommandError, match=r"^error: no user named 'ghost'"):
        run("x", "--images", str(folder), "--owner", "ghost")
    assert not Dataset.objects.exists()


def test_an_error_exits_with_one_line_and_leaves_nothing_behind(admin, files, tmp_path):
    folder, _, _ = files
    bad = lightly_csv(tmp_path / "bad.csv", [*NAMES, "ghost.jpg"], np.ones((4, 2)))
    with pytest.raises(CommandError) as error:
        run("street", "--images", str(folder), "--embeddings", str(bad))
    message = str(error.value)
    assert message.startswith("error: 1 file name(s) in bad.csv match no image")
    assert "\n" not in message
    assert not Dataset.objects.filter(name="street").exists()  # created, then removed
    assert_nothing_written()


def test_an_error_on_an_existing_dataset_keeps_it_unchanged(admin, files, tmp_path):
    folder, _, _ = files
    run("street", "--images", str(folder), "--embed", "never")
    coco = write_json(tmp_path / "c.json", {"images": [], "annotations": [], "categories": []})
    with pytest.raises(CommandError, match=r"^error: c.json has no categories"):
        run("street", "--annotations", str(coco))
    assert Dataset.objects.filter(name="street").exists()
    assert Sample.objects.count() == 3


def test_embeddings_alone_can_create_samples_without_pixels(admin, tmp_path):
    emb = lightly_csv(tmp_path / "emb.csv", ["x.jpg", "y.jpg"], np.eye(2), masked=[0, 1])
    output = run("vectors", "--embeddings", str(emb), "--samples-from-embeddings")
    assert "Samples created from embedding file names: 2." in output
    assert list(Tag.objects.get(name="masked").samples.values_list("file_name", flat=True)) == [
        "y.jpg"
    ]


def test_it_needs_something_to_import(admin):
    with pytest.raises(CommandError, match=r"Nothing to import"):
        run("x")
