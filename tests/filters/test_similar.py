"""Find similar (``similar_to=`` in the filter language): parse / serialise / describe, the
exact numpy ranking (query samples first), candidate sets, refusals as one sentence, and the
same order in the browser, the API, the sample page's previous / next and ``select --where``."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from django.core.management import call_command

from curation.browse.similarity import similarity_clear_caches
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.filters_similar import ranked_neighbours, similar_ranked_page
from curation.models import Sample, Tag
from curation.storage.embeddings import embedding_space_store


@pytest.fixture(autouse=True)
def _fresh_caches():
    similarity_clear_caches()
    yield
    similarity_clear_caches()


@pytest.fixture
def vectors(dataset):
    """40 samples; 36 with a vector in the normalised space "clip" (the last 4 without)."""
    rng = np.random.default_rng(3)
    created = Sample.objects.bulk_create(
        [
            Sample(dataset=dataset, file_name=f"s{i:02d}.png", metadata={"n": i % 4})
            for i in range(40)
        ]
    )
    ids = [s.pk for s in created]
    matrix = rng.normal(size=(36, 16)).astype(np.float32)
    matrix[5] = matrix[4]  # a duplicate of a query sample: still after the query samples
    embedding_space_store(
        dataset=dataset, name="clip", matrix=matrix, sample_ids=np.array(ids[:36])
    )
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return ids, unit.astype(np.float64)


def numpy_order(ids, unit, query_positions, candidates=None):
    """Query samples first (given order), then by min cosine distance, ties by id, then the
    samples without a vector by id."""
    wanted = set(candidates if candidates is not None else ids)
    queries = [ids[p] for p in query_positions if ids[p] in wanted]
    dist = 1.0 - (unit @ unit[list(query_positions)].T).max(axis=1)
    with_vector = sorted(
        (i for i in range(len(unit)) if ids[i] in wanted and ids[i] not in queries),
        key=lambda i: (round(float(dist[i]), 9), ids[i]),
    )
    rest = sorted(i for i in ids[len(unit) :] if i in wanted)
    return queries + [ids[i] for i in with_vector] + rest


def _query(ids, *positions):
    return "similar_to=" + ",".join(str(ids[p]) for p in positions)


class TestLanguage:
    def test_it_round_trips_and_describes(self):
        f = SampleFilter.parse("similar_to=7,3&similar_to=7,9&space=clip&similar_top=20&tag=a")
        assert f.similar_to == (7, 3, 9) and f.space == "clip" and f.similar_top == 20
        assert SampleFilter.parse(f.to_querystring()) == f
        assert f.to_querystring() == "tag=a&similar_to=7,3,9&space=clip&similar_top=20"
        assert f.describe() == "in tag a, the 20 nearest to samples 7, 3, 9 in clip"
        assert SampleFilter.parse("similar_to=4").describe() == "nearest first to sample 4"
        assert SampleFilter.parse({"similar_to": ["4"]}).to_dict() == {"similar_to": ["4"]}

    def test_space_and_top_without_a_query_are_dropped(self):
        assert SampleFilter.parse("space=clip&similar_top=3").is_empty

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("similar_to=a,b", "similar_to='a,b' must be sample ids separated by commas"),
            ("similar_to=0", "must be sample ids (1 or more)"),
            ("similar_to=3&similar_top=x", "similar_top='x' must be a whole number"),
            ("similar_to=3&similar_top=-1", "similar_top=-1 must be 1 or more"),
            ("similar_to=3&text=red", "text= and similar_to= both order the samples"),
        ],
    )
    def test_bad_values_are_one_sentence(self, query, message):
        with pytest.raises(FilterError, match=re.escape(message)):
            SampleFilter.parse(query)


@pytest.mark.django_db
class TestRanking:
    @pytest.mark.parametrize("positions", [(4,), (0, 20), (33, 2, 4)])
    def test_the_order_is_the_exact_numpy_ranking(self, dataset, vectors, positions):
        ids, unit = vectors
        f = SampleFilter.parse(_query(ids, *positions))
        page, distances, more = similar_ranked_page(dataset, f, offset=0, size=100)
        assert [s.pk for s in page] == numpy_order(ids, unit, positions) and not more
        assert distances[: len(positions)] == pytest.approx([0.0] * len(positions), abs=1e-6)
        expected = 1.0 - (unit @ unit[list(positions)].T).max(axis=1)
        by_id = dict(zip([s.pk for s in page], distances, strict=True))
        assert [by_id[i] for i in ids[:36]] == pytest.approx(expected.tolist(), abs=1e-6)
        assert all(d != d for d in distances[36:])  # no vector: NaN, listed last

    def test_the_rest_of_the_filter_narrows_it_and_pages_follow_the_rank(self, dataset, vectors):
        ids, unit = vectors
        f = SampleFilter.parse(_query(ids, 1, 2) + "&meta:n=1")  # sample 2 is not n=1
        candidates = [ids[i] for i in range(40) if i % 4 == 1]
        expected = numpy_order(ids, unit, (1, 2), candidates)
        assert expected[0] == ids[1] and ids[2] not in expected
        first, _, more = similar_ranked_page(dataset, f, offset=0, size=4)
        second, _, _ = similar_ranked_page(dataset, f, offset=4, size=100)
        assert more and [s.pk for s in first + second] == expected
        assert filter_samples(dataset, f).count() == len(candidates)

    def test_similar_top_is_a_candidate_set(self, dataset, vectors):
        ids, unit = vectors
        f = SampleFilter.parse(_query(ids, 4) + "&similar_top=6")
        expected = numpy_order(ids, unit, (4,))[:6]
        assert set(filter_samples(dataset, f).values_list("pk", flat=True)) == set(expected)
        assert expected[:2] == [ids[4], ids[5]]  # the query first, then its duplicate

    def test_previous_and_next_follow_the_rank(self, dataset, vectors):
        ids, unit = vectors
        f = SampleFilter.parse(_query(ids, 7))
        order = numpy_order(ids, unit, (7,))
        assert ranked_neighbours(dataset, f, order[0]) == (None, order[1])
        assert ranked_neighbours(dataset, f, order[5]) == (order[4], order[6])
        assert ranked_neighbours(dataset, f, order[-1]) == (order[-2], None)

    def test_a_euclidean_space_ranks_by_euclidean_distance(self, dataset, vectors):
        ids, _ = vectors
        matrix = np.arange(36 * 2, dtype=np.float32).reshape(36, 2) ** 1.5
        embedding_space_store(
            dataset=dataset, name="clip", matrix=matrix, sample_ids=np.array(ids[:36]),
            normalize=False,
        )  # fmt: skip
        f = SampleFilter.parse(_query(ids, 10))
        page, distances, _ = similar_ranked_page(dataset, f, offset=0, size=36)
        dist = np.linalg.norm(matrix.astype(np.float64) - matrix[10], axis=1)
        assert [s.pk for s in page] == [ids[i] for i in np.lexsort((ids[:36], dist))]
        assert distances == pytest.approx(sorted(dist.tolist()))

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("similar_to=999999", "has no sample 999999"),
            ("similar_to={last}", "has no vector in the embedding space 'clip'"),
            ("similar_to={first}&space=nope", "space='nope': dataset 'cats' has no such"),
        ],
    )
    def test_refusals_name_the_problem(self, dataset, vectors, query, message):
        ids, _ = vectors
        f = SampleFilter.parse(query.format(first=ids[0], last=ids[-1]))
        with pytest.raises(FilterError, match=re.escape(message)):
            filter_samples(dataset, f)

    def test_several_spaces_need_a_space(self, dataset, vectors):
        ids, unit = vectors
        embedding_space_store(
            dataset=dataset, name="other", matrix=np.ones((2, 3)), sample_ids=np.array(ids[:2])
        )
        with pytest.raises(FilterError, match=r"\(clip, other\): add space=NAME to similar_to="):
            filter_samples(dataset, SampleFilter.parse(_query(ids, 3)))
        f = SampleFilter.parse(_query(ids, 3) + "&space=clip")
        page, _, _ = similar_ranked_page(dataset, f, offset=0, size=100)
        assert [s.pk for s in page] == numpy_order(ids, unit, (3,))

    def test_no_space_at_all(self, dataset):
        sample = Sample.objects.create(dataset=dataset, file_name="a.png")
        with pytest.raises(FilterError, match="has no embedding space, so similar_to="):
            filter_samples(dataset, SampleFilter.parse(f"similar_to={sample.pk}"))


@pytest.mark.django_db
def test_select_where_similar_to_picks_among_the_nearest(dataset, vectors, tmp_path):
    ids, unit = vectors
    path = tmp_path / "config.json"
    strategy = {
        "input": {"type": "EMBEDDINGS", "embedding": "clip"},
        "strategy": {"type": "DIVERSITY"},
    }
    path.write_text(json.dumps({"n_samples": 3, "strategies": [strategy]}), encoding="utf-8")
    call_command(
        "select", dataset.name, "--config", str(path), "--tag", "picked",
        "--where", _query(ids, 8) + "&similar_top=5",
    )  # fmt: skip
    picked = set(
        Tag.objects.get(dataset=dataset, name="picked").samples.values_list("pk", flat=True)
    )
    assert len(picked) == 3 and picked <= set(numpy_order(ids, unit, (8,))[:5])
