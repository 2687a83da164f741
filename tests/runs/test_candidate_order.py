"""Candidate order (``curation.runs.order``): a run whose candidate filter has ``text=`` hands
its candidates to the engine best match first, so ties, diversity's first pick, RANDOM draws and
pre-selection follow the text ranking; the same run without ``text=`` keeps id order exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from curation.embeddings.onnx_models import TextEncoder
from curation.embeddings.text_search import text_search_clear_caches
from curation.filters import SampleFilter
from curation.models import Sample, SelectionRun, Tag
from curation.runs.load import LoadedInputs
from curation.runs.order import PER_ROW, SHARED, loaded_in_order
from curation.runs.services import selection_run_start
from curation.selection import ArrayData
from curation.storage.embeddings import embedding_space_store
from tests.support.onnx_models import model_files

Status = SelectionRun.Status
N = 12


@pytest.fixture(autouse=True)
def _fresh_caches():
    text_search_clear_caches()
    yield
    text_search_clear_caches()


@pytest.fixture
def ranked(dataset, tmp_path):
    """12 samples with a constant weight ``w`` and a vector in ``clip`` (text model attached);
    returns (ids ascending, the numpy ranking of ``red``: ids best first)."""
    models = model_files(tmp_path / "models")
    Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"s{i:02d}.jpg", metadata={"w": 1.0}) for i in range(N)]
    )
    ids = list(Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
    matrix = np.random.default_rng(7).normal(size=(N, 8)).astype(np.float32)
    source = {
        "kind": "onnx",
        "text_model": str(models["text"]),
        "tokenizer": str(models["tokenizer"]),
    }
    embedding_space_store(
        dataset=dataset, name="clip", matrix=matrix, sample_ids=np.array(ids), source=source
    )
    query = TextEncoder(models["text"], models["tokenizer"]).encode(["red"])[0].astype(np.float64)
    unit = matrix.astype(np.float64) / np.linalg.norm(matrix.astype(np.float64), axis=1)[:, None]
    cosine = unit @ (query / np.linalg.norm(query))
    order = sorted(range(N), key=lambda r: (-cosine[r], ids[r]))
    rank = [ids[r] for r in order]
    assert rank != ids  # the test means something only if the ranking is not id order
    return ids, rank


def _run(dataset, user, config, where: str, name: str, **kwargs) -> SelectionRun:
    run = selection_run_start(
        dataset=dataset,
        config=config,
        result_tag_name=name,
        user=user,
        candidate_filter=SampleFilter.parse(where) if where else None,
        execute="inline",
        **kwargs,
    )
    assert run.status == Status.SUCCEEDED, run.error
    return run


def _weights(n: int = 4) -> dict:
    strategy = {"type": "WEIGHTS"}
    return {
        "n_samples": n,
        "strategies": [{"input": {"type": "METADATA", "key": "w"}, "strategy": strategy}],
    }


def _random(seed: int, n: int = 4) -> dict:
    return {
        "n_samples": n,
        "strategies": [
            {"input": {"type": "RANDOM", "random_seed": seed}, "strategy": {"type": "WEIGHTS"}}
        ],
    }


def _diversity(n: int = 1) -> dict:
    inp = {"type": "EMBEDDINGS", "embedding": "clip"}
    return {"n_samples": n, "strategies": [{"input": inp, "strategy": {"type": "DIVERSITY"}}]}


@pytest.mark.django_db
class TestCandidateOrder:
    def test_ties_go_to_the_best_text_match(self, dataset, alice, ranked) -> None:
        _, rank = ranked
        run = _run(dataset, alice, _weights(), "text=red", "by-text")
        assert run.pick_order == rank[:4]
        assert "Candidates in text-search order for 'red' (best match first)" in run.message
        tag = Tag.objects.get(dataset=dataset, name="by-text")
        assert set(tag.samples.values_list("pk", flat=True)) == set(rank[:4])

    def test_without_text_ties_go_to_the_lowest_id_as_before(self, dataset, alice, ranked) -> None:
        ids, _ = ranked
        run = _run(dataset, alice, _weights(), "", "by-id")
        assert run.pick_order == ids[:4]
        assert "text-search order" not in run.message

    def test_diversity_starts_at_the_best_match(self, dataset, alice, ranked) -> None:
        ids, rank = ranked
        assert _run(dataset, alice, _diversity(), "text=red", "d-text").pick_order == [rank[0]]
        assert _run(dataset, alice, _diversity(), "", "d-id").pick_order == [ids[0]]

    def test_random_draws_follow_candidate_order(self, dataset, alice, ranked) -> None:
        ids, rank = ranked
        draws = np.random.default_rng(5).random(N)
        best = [int(i) for i in np.argsort(-draws, kind="stable")[:4]]
        text_run = _run(dataset, alice, _random(5), "text=red", "r-text")
        assert text_run.pick_order == [rank[i] for i in best]
        assert _run(dataset, alice, _random(5), "text=red", "r-again").pick_order == [
            rank[i] for i in best
        ]  # same seed, same query: same result
        assert _run(dataset, alice, _random(5), "", "r-id").pick_order == [ids[i] for i in best]

    def test_text_top_and_other_filters_keep_the_rank_order(self, dataset, alice, ranked) -> None:
        _, rank = ranked
        run = _run(dataset, alice, _weights(3), "text=red&text_top=6", "top")
        assert run.pick_order == rank[:3]

    def test_preselected_samples_come_first_in_rank_order(self, dataset, alice, ranked) -> None:
        ids, rank = ranked
        pre = Tag.objects.create(dataset=dataset, name="pre")
        chosen = [rank[9], rank[5]]  # both outside the 4 best matches
        pre.samples.add(*chosen)
        run = _run(dataset, alice, _weights(), "text=red", "with-pre", preselected_tag="pre")
        assert run.pick_order == [rank[5], rank[9], rank[0], rank[1]]
        plain = _run(dataset, alice, _weights(), "", "pre-id", preselected_tag="pre")
        first = sorted(chosen)
        assert plain.pick_order == first + [i for i in ids if i not in chosen][:2]


def test_every_array_data_field_is_reordered_or_shared() -> None:
    """A new per-row input added to ``ArrayData`` must be put in ``runs.order``'s permutation."""
    assert {f.name for f in dataclasses.fields(ArrayData)} == PER_ROW | SHARED


def test_object_rows_follow_their_image_rank_and_every_array_moves_together() -> None:
    """Object-level rows (one per box, ``sample_ids`` = the parent image) are ordered by their
    image's rank, an image's boxes keeping their loaded order; a row missing from the rank
    (added since) comes last."""
    sample_ids = np.array([10, 10, 11, 12, 12, 13])
    object_ids = np.array([100, 101, 110, 120, 121, 130])
    data = ArrayData(
        embeddings={"e": np.arange(12, dtype=np.float32).reshape(6, 2)},
        metadata={"m": np.arange(6, dtype=np.float64)},
        scores={("t", "s"): np.arange(6, dtype=np.float64) * 10},
        predictions={("t", "CLASS_DISTRIBUTION"): (np.eye(6), [str(i) for i in range(6)])},
        queries={"q": np.ones((1, 2))},
        masked=np.array([False, False, False, True, False, False]),
        preselected=np.array([False, True, False, False, False, False]),
        n=6,
    )
    loaded = LoadedInputs(
        sample_ids=sample_ids, data=data, n_without_vectors=0, timings={}, object_ids=object_ids
    )
    out = loaded_in_order(loaded, np.array([12, 10, 11]), "ranked")
    perm = [3, 4, 0, 1, 2, 5]
    assert out.sample_ids.tolist() == sample_ids[perm].tolist()
    assert out.object_ids is not None and out.object_ids.tolist() == [120, 121, 100, 101, 110, 130]
    assert out.data.embeddings["e"].tolist() == data.embeddings["e"][perm].tolist()
    assert out.data.metadata["m"].tolist() == perm
    assert out.data.scores[("t", "s")].tolist() == [10.0 * p for p in perm]
    matrix, classes = out.data.predictions[("t", "CLASS_DISTRIBUTION")]
    assert matrix.argmax(axis=1).tolist() == perm and classes == [str(i) for i in range(6)]
    assert out.data.masked is not None and out.data.masked.tolist() == [True] + [False] * 5
    assert out.data.preselected is not None and np.flatnonzero(out.data.preselected).tolist() == [3]
    assert out.data.queries is data.queries and out.notes == ("ranked",)
    assert loaded_in_order(loaded, np.array([10, 11, 12, 13])).data is data  # id order: as is
