"""Embedding files: Lightly CSV (masked/selected/labels), .npy + names, Parquet; every error is
all-or-nothing."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.imports.services import IngestError, dataset_import
from curation.models import Annotation, AnnotationTask, EmbeddingSpace, Sample, Tag
from curation.storage.embeddings import embedding_space_load
from tests.support.ingest import (
    assert_nothing_written,
    embedding_files,
    lightly_csv,
    make_image,
    make_images,
    write_csv,
)

NAMES = ["img-1.jpg", "img-2.jpg", "img-3.jpg", "sub/img-4.jpg"]


@pytest.fixture
def folder(tmp_path):
    return make_images(tmp_path / "images", NAMES)


def vectors(count: int = 4, dim: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, dim))


def stored(dataset, name: str = "default") -> dict[str, np.ndarray]:
    loaded = embedding_space_load(EmbeddingSpace.objects.get(dataset=dataset, name=name))
    names = dict(Sample.objects.values_list("id", "file_name"))
    return {names[int(i)]: row for i, row in zip(loaded.sample_ids, loaded.matrix, strict=True)}


def test_the_lightly_csv_lands_vectors_tags_and_labels(dataset, folder, tmp_path):
    matrix = vectors()
    csv_path = lightly_csv(
        tmp_path / "emb.csv",
        NAMES,
        matrix,
        masked=[1, 0, 0, 0],
        selected=[0, 0, 1, 1],
        labels=["2", "0", "1", "2"],
    )

    summary = dataset_import(dataset=dataset, images=folder, embeddings=csv_path, workers=0)

    assert summary.embeddings == {"default": (4, 3)}
    rows = stored(dataset)
    for name, row in zip(NAMES, matrix, strict=True):
        np.testing.assert_allclose(rows[name], row / np.linalg.norm(row), rtol=1e-5)
    members = {
        tag.name: sorted(tag.samples.values_list("file_name", flat=True))
        for tag in Tag.objects.filter(dataset=dataset)
    }
    assert members == {"masked": ["img-1.jpg"], "selected": ["img-3.jpg", "sub/img-4.jpg"]}
    task = AnnotationTask.objects.get(dataset=dataset, name="ground_truth")
    assert (task.kind, task.categories) == ("classification", ["0", "1", "2"])
    labels = dict(Annotation.objects.values_list("sample__file_name", "label"))
    assert labels == dict(zip(NAMES, ["2", "0", "1", "2"], strict=True))
    assert not EmbeddingSpace.objects.filter(name="builtin").exists()  # embeddings were given


def test_masked_and_selected_add_to_existing_tags(dataset, folder, tmp_path):
    dataset_import(dataset=dataset, images=folder, workers=0, embed="never")
    selected = Tag.objects.create(dataset=dataset, name="selected")
    selected.samples.add(Sample.objects.get(file_name="img-1.jpg"))
    csv_path = lightly_csv(tmp_path / "e.csv", NAMES, vectors(), selected=[0, 1, 0, 0])

    summary = dataset_import(dataset=dataset, embeddings=csv_path)

    assert summary.tags == {"selected": 1}
    assert sorted(selected.samples.values_list("file_name", flat=True)) == [
        "img-1.jpg",
        "img-2.jpg",
    ]


def test_all_zero_labels_are_lightlys_placeholder_and_not_imported(dataset, folder, tmp_path):
    csv_path = lightly_csv(tmp_path / "e.csv", NAMES, vectors(), labels=[0, 0, 0, 0])
    summary = dataset_import(dataset=dataset, images=folder, embeddings=csv_path, workers=0)
    assert not AnnotationTask.objects.exists()
    assert any("labels not imported" in note for note in summary.notes)


def test_raw_embeddings_are_kept_as_they_are(dataset, folder, tmp_path):
    matrix = vectors() * 10
    csv_path = lightly_csv(tmp_path / "e.csv", NAMES, matrix)
    dataset_import(
        dataset=dataset,
        images=folder,
        embeddings=csv_path,
        embedding_name="clip",
        normalize_embeddings=False,
        workers=0,
    )
    space = EmbeddingSpace.objects.get(dataset=dataset)
    assert (space.name, space.normalized) == ("clip", False)
    np.testing.assert_allclose(stored(dataset, "clip")["img-2.jpg"], matrix[1], rtol=1e-6)


def test_several_named_spaces_and_merging_new_rows_into_a_space(
    dataset, folder, tmp_path, django_capture_on_commit_callbacks
):
    first = lightly_csv(tmp_path / "a.csv", NAMES[:2], vectors(2))
    dataset_import(dataset=dataset, images=folder, embeddings=first, workers=0)
    other = lightly_csv(tmp_path / "b.csv", NAMES, vectors(4, 5))
    dataset_import(dataset=dataset, embeddings=other, embedding_name="other")
    later = lightly_csv(tmp_path / "c.csv", NAMES[2:], vectors(2, seed=3))
    with django_capture_on_commit_callbacks(execute=True):
        dataset_import(dataset=dataset, embeddings=later)

    spaces = dict(EmbeddingSpace.objects.values_list("name", "count"))
    assert spaces == {"default": 4, "other": 4}
    assert sorted(stored(dataset)) == sorted(NAMES)
    assert len(embedding_files()) == 4  # two spaces x (vectors, ids); replaced files removed


def test_npy_with_a_sidecar_and_with_an_explicit_json_list(dataset, folder, tmp_path):
    matrix = vectors()
    np.save(tmp_path / "emb.npy", matrix)
    (tmp_path / "emb.filenames.txt").write_text("\n".join(NAMES) + "\n")
    dataset_import(dataset=dataset, images=folder, embeddings=tmp_path / "emb.npy", workers=0)
    np.testing.assert_allclose(
        stored(dataset)["sub/img-4.jpg"], matrix[3] / np.linalg.norm(matrix[3]), rtol=1e-5
    )

    np.save(tmp_path / "two.npy", matrix[::-1])
    names = tmp_path / "names.json"
    names.write_text(json.dumps(NAMES))
    dataset_import(
        dataset=dataset,
        embeddings=tmp_path / "two.npy",
        embedding_filenames=names,
        embedding_name="reversed",
        normalize_embeddings=False,
    )
    np.testing.assert_allclose(stored(dataset, "reversed")["img-1.jpg"], matrix[3], rtol=1e-6)


def test_npy_without_file_names_is_refused(dataset, folder, tmp_path):
    np.save(tmp_path / "emb.npy", vectors())
    with pytest.raises(IngestError, match=r"needs its file names"):
        dataset_import(dataset=dataset, images=folder, embeddings=tmp_path / "emb.npy")
    assert_nothing_written(dataset)


@pytest.mark.parametrize("layout", ["columns", "list"])
def test_parquet_with_embedding_columns_or_one_list_column(dataset, folder, tmp_path, layout):
    matrix = vectors(dim=6)
    if layout == "columns":
        table = pa.table({"file_name": NAMES, **{f"embedding_{i}": matrix[:, i] for i in range(6)}})
    else:
        table = pa.table({"filename": NAMES, "vector": matrix.tolist(), "selected": [1, 0, 0, 0]})
    pq.write_table(table, tmp_path / "emb.parquet")

    dataset_import(
        dataset=dataset,
        images=folder,
        embeddings=tmp_path / "emb.parquet",
        normalize_embeddings=False,
        workers=0,
    )

    np.testing.assert_allclose(stored(dataset)["img-3.jpg"], matrix[2], rtol=1e-6)
    if layout == "list":
        assert list(
            Tag.objects.get(name="selected").samples.values_list("file_name", flat=True)
        ) == ["img-1.jpg"]


def test_embeddings_without_images_create_samples_without_pixels(dataset, tmp_path):
    names = [f"frame_{i}.jpg" for i in range(10)]
    csv_path = lightly_csv(tmp_path / "e.csv", names, vectors(10))

    summary = dataset_import(dataset=dataset, embeddings=csv_path, samples_from_embeddings=True)

    assert summary.samples_without_pixels == 10
    samples = Sample.objects.filter(dataset=dataset)
    assert sorted(samples.values_list("file_name", flat=True)) == sorted(names)
    assert set(samples.values_list("width", "thumbnail")) == {(None, "")}
    assert sorted(stored(dataset)) == sorted(names)

    # Later the pixels arrive: those samples get sizes, metadata and thumbnails.
    folder = make_images(tmp_path / "images", names[:3])
    again = dataset_import(dataset=dataset, images=folder, workers=0, embed="never")
    assert (again.images_added, again.images_updated) == (0, 3)
    assert samples.exclude(width=None).count() == 3
    assert Sample.objects.count() == 10


# -- errors -----------------------------------------------------------------------------------


def import_csv(dataset, folder, path):
    return dataset_import(dataset=dataset, images=folder, embeddings=path, workers=0)


def test_unknown_file_names_are_listed_with_their_count(dataset, folder, tmp_path):
    names = NAMES + [f"missing_{i}.jpg" for i in range(7)]
    csv_path = lightly_csv(tmp_path / "emb.csv", names, vectors(len(names)))
    with pytest.raises(IngestError) as error:
        import_csv(dataset, folder, csv_path)
    message = str(error.value)
    assert "7 file name(s) in emb.csv match no image" in message
    assert "missing_0.jpg" in message and "(and 2 more)" in message
    assert_nothing_written(dataset)


def test_a_row_with_too_few_values_names_its_line(dataset, folder, tmp_path):
    csv_path = tmp_path / "emb.csv"
    csv_path.write_text(
        "filenames,embedding_0,embedding_1,labels\n"
        "img-1.jpg,0.1,0.5,0\n"
        "img-2.jpg,0.2,0\n"
        "img-3.jpg,0.1,0.9,0\n"
    )
    with pytest.raises(IngestError, match=r"Line 3 of emb.csv has 3 values but the header names 4"):
        import_csv(dataset, folder, csv_path)
    assert_nothing_written(dataset)


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity"])
def test_nan_or_infinite_values_name_line_and_column(dataset, folder, tmp_path, bad):
    matrix = vectors().round(3).astype(object)
    matrix[2, 1] = bad
    csv_path = lightly_csv(tmp_path / "emb.csv", NAMES, matrix)
    with pytest.raises(IngestError, match=r"line 4, column embedding_1 of emb.csv is NaN"):
        import_csv(dataset, folder, csv_path)
    assert_nothing_written(dataset)


def test_a_cell_that_is_not_a_number_names_line_and_column(dataset, folder, tmp_path):
    matrix = vectors().round(3).astype(object)
    matrix[1, 2] = "0.3x"
    csv_path = lightly_csv(tmp_path / "emb.csv", NAMES, matrix)
    with pytest.raises(IngestError, match=r"'0.3x' at line 3, column embedding_2 of emb.csv"):
        import_csv(dataset, folder, csv_path)
    assert_nothing_written(dataset)


def test_a_masked_value_other_than_0_or_1_is_refused(dataset, folder, tmp_path):
    csv_path = lightly_csv(tmp_path / "emb.csv", NAMES, vectors(), masked=[0, 2, 0, 0])
    with pytest.raises(
        IngestError, match=r"'2' at line 3, column masked of emb.csv must be 0 or 1"
    ):
        import_csv(dataset, folder, csv_path)
    assert_nothing_written(dataset)


def test_duplicate_file_names_are_refused(dataset, folder, tmp_path):
    names = [*NAMES, "img-2.jpg"]
    csv_path = lightly_csv(tmp_path / "emb.csv", names, vectors(5))
    with pytest.raises(IngestError, match=r"lists 'img-2.jpg' twice \(lines 3 and 6\)"):
        import_csv(dataset, folder, csv_path)
    assert_nothing_written(dataset)


def test_unknown_columns_and_gaps_are_refused(dataset, folder, tmp_path):
    gap = write_csv(tmp_path / "gap.csv", ["filenames", "embedding_0", "embedding_2"], [])
    with pytest.raises(IngestError, match=r"skips column embedding_1"):
        import_csv(dataset, folder, gap)
    extra = write_csv(tmp_path / "extra.csv", ["filenames", "embedding_0", "colour"], [])
    with pytest.raises(IngestError, match=r"unknown column 'colour' \(line 1, column 3\)"):
        import_csv(dataset, folder, extra)
    assert_nothing_written(dataset)


def test_npy_row_count_must_match_the_names(dataset, folder, tmp_path):
    np.save(tmp_path / "emb.npy", vectors(3))
    (tmp_path / "emb.filenames.txt").write_text("\n".join(NAMES))
    with pytest.raises(IngestError, match=r"has 3 rows but emb.filenames.txt lists 4 file names"):
        import_csv(dataset, folder, tmp_path / "emb.npy")
    assert_nothing_written(dataset)


def test_npy_nan_is_refused(dataset, folder, tmp_path):
    matrix = vectors()
    matrix[1, 0] = np.nan
    np.save(tmp_path / "emb.npy", matrix)
    (tmp_path / "emb.filenames.txt").write_text("\n".join(NAMES))
    with pytest.raises(IngestError, match=r"Row 1, value 0 of emb.npy is NaN or infinite"):
        import_csv(dataset, folder, tmp_path / "emb.npy")
    assert_nothing_written(dataset)


def test_parquet_rows_of_different_length_are_a_dimension_mismatch(dataset, folder, tmp_path):
    table = pa.table({"file_name": NAMES, "vector": [[1.0, 2.0]] * 3 + [[1.0, 2.0, 3.0]]})
    pq.write_table(table, tmp_path / "emb.parquet")
    with pytest.raises(IngestError, match=r"Row 4 of emb.parquet has 3 values.*dimension mismatch"):
        import_csv(dataset, folder, tmp_path / "emb.parquet")
    assert_nothing_written(dataset)


def test_a_space_of_another_dimension_is_a_mismatch_and_nothing_changes(dataset, folder, tmp_path):
    dataset_import(
        dataset=dataset,
        images=folder,
        embeddings=lightly_csv(tmp_path / "a.csv", NAMES, vectors(dim=3)),
        workers=0,
    )
    before = stored(dataset)
    files = embedding_files()
    make_image(folder / "new.jpg", 77)
    wider = lightly_csv(tmp_path / "b.csv", [*NAMES, "new.jpg"], vectors(5, dim=4))
    with pytest.raises(IngestError, match=r"4-d vectors but embedding space 'default'.*3-d"):
        import_csv(dataset, folder, wider)
    assert embedding_files() == files
    assert not Sample.objects.filter(file_name="new.jpg").exists()
    assert stored(dataset).keys() == before.keys()


def test_a_failure_after_the_vectors_were_stored_removes_their_files(
    dataset, folder, tmp_path, monkeypatch
):
    from curation.imports import embeddings as ingest

    original = ingest.embedding_space_store
    calls = []

    def second_store_fails(**kwargs):
        if calls:
            raise OSError("disk full")
        calls.append(original(**kwargs))
        return calls[-1]

    monkeypatch.setattr(ingest, "embedding_space_store", second_store_fails)
    csv_path = lightly_csv(tmp_path / "e.csv", NAMES, vectors(), selected=[1, 0, 0, 0])
    with pytest.raises(OSError, match=r"disk full"):
        dataset_import(
            dataset=dataset, images=folder, embeddings=csv_path, embed="always", workers=0
        )
    assert len(calls) == 1  # the CSV space was stored, then the built-in one failed
    assert_nothing_written(dataset)


def test_a_bad_cell_deep_in_a_big_csv_still_names_its_line_and_column(dataset, folder, tmp_path):
    names = [f"x{i}.jpg" for i in range(3000)]
    matrix = vectors(len(names), dim=8)
    path = lightly_csv(tmp_path / "big.csv", names, matrix)
    lines = path.read_text().splitlines()
    cells = lines[2501].split(",")
    cells[5] = "oops"
    lines[2501] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    header = lines[0].split(",")
    with pytest.raises(
        IngestError, match=rf"'oops' at line 2502, column {header[5]} of big.csv is not a number"
    ):
        dataset_import(dataset=dataset, embeddings=path, samples_from_embeddings=True)
    assert_nothing_written(dataset)
