"""Image folders: recursion, per-image size/metadata/thumbnail, failures, re-import, workers,
progress and the import-root restriction."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from curation.imports import images as ingest_images
from curation.imports.common import resolve_import_path
from curation.imports.pixel_metadata import image_file_metadata
from curation.imports.services import IngestError, dataset_import
from curation.models import Dataset, EmbeddingSpace, Sample
from tests.support.ingest import assert_nothing_written, make_image, make_images

NAMES = ["a.jpg", "b.jpeg", "c.png", "d.webp", "e.bmp", "f.tif", "g.tiff", "sub/deeper/h.PNG"]


def test_it_imports_a_folder_recursively_with_size_metadata_and_thumbnails(dataset, tmp_path):
    folder = make_images(tmp_path / "images", NAMES, size=(600, 300))
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden").mkdir()
    make_image(folder / ".hidden" / "x.jpg", 1)

    summary = dataset_import(dataset=dataset, images=folder, workers=0, embed="never")

    assert summary.images_added == len(NAMES)
    samples = {s.file_name: s for s in Sample.objects.filter(dataset=dataset)}
    assert sorted(samples) == sorted(NAMES)
    sample = samples["sub/deeper/h.PNG"]
    assert (sample.width, sample.height) == (600, 300)
    assert sample.size_bytes == (folder / "sub/deeper/h.PNG").stat().st_size
    expected = image_file_metadata(folder / "sub/deeper/h.PNG")
    assert sample.metadata == expected
    for key in ("lightly.sharpness", "lightly.uniformRowRatio", "lightly.sizeInBytes"):
        assert key in sample.metadata
    thumb = Path(settings.MEDIA_ROOT) / sample.thumbnail
    assert sample.thumbnail.startswith(f"datasets/{dataset.pk}/thumbs/")
    with Image.open(thumb) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 256
    dataset.refresh_from_db()
    assert dataset.image_root == str(folder.resolve())


def test_it_lists_corrupt_images_and_imports_the_rest(dataset, tmp_path):
    folder = make_images(tmp_path / "images", ["good.png"])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    truncated = make_image(folder / "cut.png", 3, size=(200, 200)).read_bytes()
    (folder / "cut.png").write_bytes(truncated[: len(truncated) // 2])

    summary = dataset_import(dataset=dataset, images=folder, workers=0)

    assert [name for name, _ in summary.images_failed] == ["broken.jpg", "cut.png"]
    assert str(folder) not in summary.images_failed[0][1]
    assert list(Sample.objects.values_list("file_name", flat=True)) == ["good.png"]
    assert any("failed: broken.jpg" in line for line in summary.lines())


def test_reimporting_the_same_folder_adds_only_new_files(dataset, tmp_path):
    folder = make_images(tmp_path / "images", ["a.png", "b.png"])
    dataset_import(dataset=dataset, images=folder, workers=0)
    first = dict(Sample.objects.values_list("file_name", "id"))

    again = dataset_import(dataset=dataset, images=folder, workers=0)
    assert (again.images_added, again.images_skipped) == (0, 2)

    make_image(folder / "c.png", 9)
    third = dataset_import(dataset=dataset, images=folder, workers=0)
    assert (third.images_added, third.images_skipped) == (1, 2)
    now = dict(Sample.objects.values_list("file_name", "id"))
    assert {k: now[k] for k in first} == first
    assert sorted(now) == ["a.png", "b.png", "c.png"]


def test_worker_processes_give_the_same_results_and_report_progress(alice, tmp_path):
    names = [f"img_{i:03d}.png" for i in range(ingest_images.MIN_JOBS_FOR_POOL + 6)]
    folder = make_images(tmp_path / "images", names, size=(24, 24))
    calls: list[tuple[str, int, int]] = []
    pooled = Dataset.objects.create(name="pooled", owner=alice)
    inline = Dataset.objects.create(name="inline", owner=alice)

    dataset_import(
        dataset=pooled,
        images=folder,
        workers=2,
        embed="never",
        progress=lambda *args: calls.append(args),
    )
    dataset_import(dataset=inline, images=folder, workers=0, embed="never")

    def rows(ds: Dataset) -> list[tuple]:
        return list(
            Sample.objects.filter(dataset=ds)
            .order_by("file_name")
            .values_list("file_name", "width", "size_bytes", "metadata")
        )

    assert rows(pooled) == rows(inline)
    assert calls[0] == ("reading files", 0, 0) and calls[-1] == ("writing", 0, 0)
    images = [call for call in calls if call[0] == "images"]
    assert images[-1] == ("images", len(names), len(names))
    assert [done for _, done, _ in images] == sorted(done for _, done, _ in images)


def test_it_falls_back_to_this_process_when_the_pool_cannot_start(dataset, tmp_path, monkeypatch):
    class NoPool:
        def __init__(self, *args, **kwargs):
            raise OSError("no semaphores here")

    monkeypatch.setattr(ingest_images, "ProcessPoolExecutor", NoPool)
    names = [f"img_{i:03d}.png" for i in range(ingest_images.MIN_JOBS_FOR_POOL)]
    folder = make_images(tmp_path / "images", names, size=(16, 16))

    summary = dataset_import(dataset=dataset, images=folder, workers=4, embed="never")

    assert summary.images_added == len(names)
    assert Sample.objects.filter(dataset=dataset).exclude(width=None).count() == len(names)


def test_it_refuses_a_folder_other_than_the_datasets_image_root(dataset, tmp_path):
    dataset_import(dataset=dataset, images=make_images(tmp_path / "one", ["a.png"]), workers=0)
    with pytest.raises(IngestError, match=r"reads its images from"):
        dataset_import(dataset=dataset, images=make_images(tmp_path / "two", ["b.png"]))
    assert list(Sample.objects.values_list("file_name", flat=True)) == ["a.png"]


def test_it_names_a_missing_folder(dataset, tmp_path):
    with pytest.raises(IngestError, match=r"does not exist"):
        dataset_import(dataset=dataset, images=tmp_path / "nope")
    assert_nothing_written(dataset)


def test_the_builtin_embedding_is_computed_for_folders_without_embeddings(dataset, tmp_path):
    folder = make_images(tmp_path / "images", [f"{i}.png" for i in range(5)])
    dataset_import(dataset=dataset, images=folder, workers=0)
    space = EmbeddingSpace.objects.get(dataset=dataset)
    assert (space.name, space.count, space.normalized) == ("builtin", 5, True)
    assert space.dimension == 5  # PCA capped by the number of images

    make_image(folder / "new.png", 42)
    dataset_import(dataset=dataset, images=folder, workers=0)
    space.refresh_from_db()
    assert space.count == 6  # recomputed over old and new images

    dataset_import(dataset=dataset, images=folder, workers=0, embed="never")
    assert EmbeddingSpace.objects.filter(dataset=dataset).count() == 1


# -- import roots -----------------------------------------------------------------------------


@pytest.fixture
def roots(settings, tmp_path):
    allowed = (tmp_path / "allowed").resolve()
    allowed.mkdir()
    settings.CURATION_IMPORT_ROOTS = [allowed]
    return allowed


def test_restricted_imports_read_below_the_import_roots(dataset, roots):
    folder = make_images(roots / "shoot", ["a.png"])
    summary = dataset_import(dataset=dataset, images=folder, restrict_to_import_roots=True)
    assert summary.images_added == 1


def test_restricted_imports_refuse_dotdot_escapes(dataset, roots, tmp_path):
    make_images(tmp_path / "secret", ["a.png"])
    escape = f"{roots}/../secret"
    with pytest.raises(IngestError, match=r"outside the folders imports may read"):
        dataset_import(dataset=dataset, images=escape, restrict_to_import_roots=True)
    assert_nothing_written(dataset)
    # The CLI path (no restriction) reads it.
    assert dataset_import(dataset=dataset, images=escape, workers=0).images_added == 1


def test_restricted_imports_refuse_a_symlinked_folder_leading_outside(dataset, roots, tmp_path):
    make_images(tmp_path / "secret", ["a.png"])
    os.symlink(tmp_path / "secret", roots / "link")
    with pytest.raises(IngestError, match=r"outside the folders imports may read"):
        dataset_import(dataset=dataset, images=roots / "link", restrict_to_import_roots=True)
    assert_nothing_written(dataset)


def test_restricted_imports_skip_symlinked_files_leading_outside(dataset, roots, tmp_path):
    secret = make_image(tmp_path / "secret" / "s.png", 1)
    folder = make_images(roots / "shoot", ["a.png"])
    os.symlink(secret, folder / "evil.png")
    os.symlink(folder / "a.png", folder / "inside.png")

    summary = dataset_import(dataset=dataset, images=folder, restrict_to_import_roots=True)

    assert sorted(Sample.objects.values_list("file_name", flat=True)) == ["a.png", "inside.png"]
    assert [name for name, _ in summary.images_failed] == ["evil.png"]


def test_restricted_imports_check_every_side_file(dataset, roots, tmp_path):
    folder = make_images(roots / "shoot", ["a.png"])
    outside = tmp_path / "meta.csv"
    outside.write_text("file_name,x\na.png,1\n")
    with pytest.raises(IngestError, match=r"outside the folders"):
        dataset_import(
            dataset=dataset, images=folder, metadata=outside, restrict_to_import_roots=True
        )
    assert_nothing_written(dataset)


def test_resolve_import_path_without_roots_refuses_everything(settings, tmp_path):
    settings.CURATION_IMPORT_ROOTS = []
    with pytest.raises(IngestError, match=r"CURATION_IMPORT_ROOTS"):
        resolve_import_path(tmp_path)
    assert resolve_import_path(tmp_path, restrict_to_import_roots=False) == tmp_path.resolve()


def _reference_metadata(image: Image.Image, size_bytes: int) -> dict:
    """The built-in metadata as first written (plain float64 formulas); the fast forms in
    curation.imports.pixel_metadata must give exactly these values."""
    grey = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    sharp = 0.0
    if grey.shape[0] >= 3 and grey.shape[1] >= 3:
        g = grey * 255.0
        lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
        sharp = float(lap.var())
    small = image.convert("L")
    if small.height > 400:
        small = small.resize(
            (max(1, round(small.width * 400 / small.height)), 400), Image.Resampling.BILINEAR
        )
    u = np.asarray(small, dtype=np.float64) / 255.0
    ratio = 1.0
    if u.shape[0] >= 3 and u.shape[1] >= 3:
        neighbours = (
            u[:-2, :-2] + u[:-2, 1:-1] + u[:-2, 2:] + u[1:-1, :-2]
            + u[1:-1, 2:] + u[2:, :-2] + u[2:, 1:-1] + u[2:, 2:]
        )  # fmt: skip
        flat = np.abs(8.0 * u[1:-1, 1:-1] - neighbours) < 5.0 / 255.0
        ratio = float((flat.mean(axis=1) > 0.97).mean())
    return {
        "lightly.sizeInBytes": size_bytes,
        "lightly.sharpness": round(sharp, 6),
        "lightly.uniformRowRatio": round(ratio, 6),
        "lightly.width": image.width,
        "lightly.height": image.height,
        "lightly.brightness": round(float(grey.mean()), 6),
        "lightly.contrast": round(float(grey.std()), 6),
    }


def _test_images() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    images = []
    for height, width in [(1, 1), (2, 9), (3, 3), (120, 160), (401, 90), (700, 33), (50, 700)]:
        noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        steps = 100 + rng.integers(-1, 2, (height, width))  # many responses of exactly +-5
        ramp = np.cumsum(rng.integers(0, 2, (height, width)), axis=1).clip(0, 255)
        stripes = np.full((height, width), 128, np.uint8)
        stripes[::3] = 10
        images += [
            Image.fromarray(noise),
            Image.fromarray(noise).convert("P"),
            Image.fromarray(np.dstack([noise, noise[..., :1]])),  # RGBA
            Image.fromarray(steps.astype(np.uint8)),
            Image.fromarray(ramp.astype(np.uint8)),
            Image.fromarray(stripes),
        ]
    return images


def test_the_builtin_metadata_equals_the_float64_formulas_exactly():
    from curation.imports.pixel_metadata import image_metadata, sharpness, uniform_row_ratio

    for image in _test_images():
        assert image_metadata(image, 123) == _reference_metadata(image, 123), image.size
        reference = _reference_metadata(image, 123)
        grey = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
        assert round(sharpness(grey), 6) == reference["lightly.sharpness"]
        assert round(uniform_row_ratio(image), 6) == reference["lightly.uniformRowRatio"]


def test_thumbnails_are_written_into_missing_folders_without_leftovers(tmp_path):
    from curation.storage.thumbnails import ImageJob, process_chunk

    make_image(tmp_path / "a.png", 1, size=(300, 200))
    destination = tmp_path / "thumbs" / "ab" / "a.jpg"
    [result] = process_chunk([ImageJob(str(tmp_path / "a.png"), str(destination), False)])

    assert result["ok"] and result["metadata"]["lightly.width"] == 300
    with Image.open(destination) as thumb:
        assert thumb.size == (256, 171)
    assert [p.name for p in destination.parent.iterdir()] == ["a.jpg"]
