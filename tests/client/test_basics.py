"""Connecting, datasets, queries, tags and errors, against a live ``manage.py serve``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import curation.client as cur
from curation.client import ImageSampleField, SampleField
from tests.support.client import LiveServer, embeddings_for, make_images


@pytest.fixture
def filled(alice: cur.Connection, unique: str, tmp_path: Path) -> cur.ImageDataset:
    """A dataset of 12 uploaded images with 8-d embeddings and metadata."""
    dataset = cur.ImageDataset.create(unique)
    names = make_images(tmp_path / "images", 12)
    dataset.add_embeddings(
        embeddings_for(names),
        names,
        embedding_model_name="clip",
        create_samples=True,
        show_progress=False,
    )
    summary = dataset.add_images_from_path(tmp_path / "images", show_progress=False)
    assert summary["images_failed"] == [] and summary["images_skipped"] == 0
    assert [s.width for s in dataset.query()] == [32 + 8 * (i % 5) for i in range(12)]
    dataset.add_metadata(
        {
            n: {"sharpness": float(i), "weather": {"description": "sunny" if i % 2 else "rainy"}}
            for i, n in enumerate(names)
        },
        show_progress=False,
    )
    return dataset


def test_connect_refuses_a_closed_port() -> None:
    with pytest.raises(
        cur.ServerUnreachable, match=r"No Curation server answers at http://127\.0\.0\.1:9"
    ):
        cur.connect("http://127.0.0.1:9", token="x")


def test_connect_refuses_a_bad_token(live: LiveServer) -> None:
    with pytest.raises(cur.AuthenticationError, match="refused the request with this token"):
        cur.connect(live.url, token="cur_not-a-real-key")


def test_unknown_dataset_is_named(alice: cur.Connection) -> None:
    with pytest.raises(cur.NotFoundError, match="No dataset named 'nope-never' on"):
        cur.ImageDataset.load("nope-never")


def test_load_or_create_and_taken_name(alice: cur.Connection, unique: str) -> None:
    created = cur.ImageDataset.load_or_create(unique)
    assert cur.ImageDataset.load(unique).id == created.id
    assert cur.ImageDataset.load_or_create(unique).id == created.id
    with pytest.raises(cur.BadRequestError, match="already"):
        cur.ImageDataset.create(unique)


def test_queries_list_count_slice_and_fields(filled: cur.ImageDataset) -> None:
    everything = filled.query().to_list()
    assert len(everything) == 12 == len(filled)
    assert [s.file_name for s in everything] == sorted(s.file_name for s in everything)
    wide = filled.match(ImageSampleField.width >= 56)
    assert {s.width for s in wide} == {56, 64}
    assert len(wide) == sum(1 for s in everything if (s.width or 0) >= 56)
    strict = filled.match(ImageSampleField.width > 56)
    assert {s.width for s in strict} == {64}
    sunny = filled.match(SampleField.metadata["weather.description"] == "sunny")
    assert len(sunny) == 6
    sharp = filled.match(SampleField.metadata["sharpness"] > 9)
    assert [s.metadata["sharpness"] for s in sharp] == [10.0, 11.0]
    assert len(filled[2:5]) == 3
    assert [s.id for s in filled[2:5]] == [s.id for s in everything[2:5]]
    assert filled[3].id == everything[3].id
    first = everything[0]
    assert first.file_path_abs.endswith("/" + first.file_name)
    assert Path(first.file_path_abs).is_file()  # the server is this machine here


def test_tags_add_remove_and_match(filled: cur.ImageDataset) -> None:
    assert filled[:5].add_tag("q") == 5
    assert len(filled.match(SampleField.tags.contains("q"))) == 5
    assert filled.match(SampleField.width >= 56).add_tag("q") >= 1
    in_q = filled.match(SampleField.tags.contains("q"))
    members = len(in_q)
    assert members > 5
    assert in_q.remove_tag("q") == members
    assert len(filled.match(SampleField.tags.contains("q"))) == 0
    filled[:2].add_tag("a")
    filled[2:4].add_tag("b")
    either = filled.match(SampleField.tags.contains("a") | SampleField.tags.contains("b"))
    assert len(either) == 4
    neither = filled.match(~SampleField.tags.contains("a"))
    assert len(neither) == 10
    sample = filled[0]
    assert set(sample.tags) == {"a"}


def test_bad_field_expressions_are_refused_before_sending(filled: cur.ImageDataset) -> None:
    with pytest.raises(cur.QueryError, match=r"'\|' joins conditions of one kind only"):
        filled.match(SampleField.tags.contains("a") | (SampleField.width >= 3))
    with pytest.raises(cur.QueryError, match="every one of several tags"):
        filled.match(SampleField.tags.contains("a") & SampleField.tags.contains("b"))
    with pytest.raises(cur.QueryError, match="'~' applies to tag conditions only"):
        filled.match(~(SampleField.width >= 3))
    with pytest.raises(cur.QueryError, match="no truth value"):
        filled.match(3 <= SampleField.width <= 5)  # type: ignore[operator]


def test_unknown_tag_in_a_filter_is_the_servers_sentence(filled: cur.ImageDataset) -> None:
    with pytest.raises(cur.BadRequestError, match="No tag named 'ghost'"):
        filled.match(SampleField.tags.contains("ghost")).to_list()


def test_selection_runs_and_taken_tag(filled: cur.ImageDataset) -> None:
    run = (
        filled.query()
        .selection()
        .diverse(n_samples_to_select=4, selection_result_tag_name="d4", show_progress=False)
    )
    assert run.status == "succeeded" and len(run.picks) == 4
    assert set(run.picks) == {s.id for s in filled.match(SampleField.tags.contains("d4"))}
    assert run.explanation[0]["rank"] == 0 and run.explanation[0]["file_name"]
    assert run.keep_first(2, "d2") == "d2"
    assert [s.id for s in filled.match(SampleField.tags.contains("d2"))] == sorted(run.picks[:2])
    with pytest.raises(cur.BadRequestError, match="already exists"):
        filled.query().selection().diverse(n_samples_to_select=4, selection_result_tag_name="d4")
    started = (
        filled.query()
        .sampling()
        .random(n_samples_to_select=3, sampling_result_tag_name="r3", random_seed=1, wait=False)
    )
    assert started.wait(show_progress=False).picks == started.picks
    (
        filled.query()
        .selection()
        .metadata_weighting(
            n_samples_to_select=2,
            selection_result_tag_name="top2",
            metadata_key="sharpness",
            show_progress=False,
        )
    )
    assert [s.metadata["sharpness"] for s in filled.match(SampleField.tags.contains("top2"))] == [
        10.0,
        11.0,
    ]
    with pytest.raises(cur.BadRequestError, match="no candidate has a value for metadata key"):
        filled.query().selection().metadata_weighting(
            n_samples_to_select=2, selection_result_tag_name="x", metadata_key="missing"
        )


def test_scores_as_metadata_match_the_engine(filled: cur.ImageDataset) -> None:
    from curation.selection.kernels_knn import typicality_scores

    name = filled.compute_typicality_metadata(
        metadata_name="typ", num_nearest_neighbors=3, show_progress=False
    )
    assert name == "typ"
    samples = filled.query().to_list()
    values = np.array([s.metadata["typ"] for s in samples])
    assert values.shape == (12,) and np.all((values > 0) & (values <= 1))
    filled[:2].add_tag("query")
    generated = filled.compute_similarity_metadata(query_tag_name="query", show_progress=False)
    assert generated == "similarity_to_query"
    sims = [s.metadata[generated] for s in filled.query()]
    assert sims[0] == pytest.approx(1.0) and sims[1] == pytest.approx(1.0)
    assert len(filled.match(SampleField.metadata[generated] >= 0.0)) == 12
    assert typicality_scores  # the engine's function is what the server calls
    with pytest.raises(cur.BadRequestError, match="No tag named 'ghost'"):
        filled.compute_similarity_metadata(query_tag_name="ghost")
    with pytest.raises(cur.BadRequestError, match="reserved"):
        filled.compute_typicality_metadata(metadata_name="lightly.typ")


def test_export_a_tag_and_a_query(filled: cur.ImageDataset, tmp_path: Path) -> None:
    filled[:3].add_tag("exp")
    written = filled.match(SampleField.tags.contains("exp")).export("filenames", tmp_path / "a.txt")
    assert written.read_text().split() == [s.file_name for s in filled[:3]]
    csv = filled.match(SampleField.width >= 56).export("csv", tmp_path / "b.csv")
    assert "sharpness" in csv.read_text().splitlines()[0]
    assert set(filled.tags()) == {"exp"}  # the temporary tag is gone
    with pytest.raises(cur.BadRequestError, match="format"):
        filled.query().export("nope", tmp_path / "c")
