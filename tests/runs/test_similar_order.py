"""``similar_to=`` as a run's candidate order (``curation.runs.order``): the engine sees the
candidates nearest first to the query samples, the very order the samples page lists them in."""

from __future__ import annotations

import numpy as np
import pytest

from curation.filters import SampleFilter
from curation.filters_similar import similar_ranked_page
from curation.models import Sample, SelectionRun
from curation.runs.services import selection_run_start
from curation.storage.embeddings import embedding_space_store

N = 12
WEIGHTS = {
    "n_samples": 4,
    "strategies": [{"input": {"type": "METADATA", "key": "w"}, "strategy": {"type": "WEIGHTS"}}],
}
DIVERSITY = {
    "n_samples": 1,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


@pytest.fixture
def ids(dataset):
    """12 samples with a constant weight on a line: sample i at x = i; the query is sample 7,
    so its neighbours are 6 and 8 (the tie broken by id), then 5 and 9."""
    Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"s{i:02d}.jpg", metadata={"w": 1.0}) for i in range(N)]
    )
    ids = list(dataset.samples.order_by("pk").values_list("pk", flat=True))
    matrix = np.zeros((N, 2), np.float32)
    matrix[:, 0] = np.arange(N)
    matrix[:, 1] = 1.0
    embedding_space_store(dataset=dataset, name="default", matrix=matrix, sample_ids=np.array(ids))
    return ids


def _run(dataset, user, config, where, name):
    run = selection_run_start(
        dataset=dataset,
        config=config,
        result_tag_name=name,
        user=user,
        candidate_filter=SampleFilter.parse(where) if where else None,
        execute="inline",
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    return run


def test_ties_go_to_the_nearest_candidates_in_the_samples_page_order(dataset, alice, ids):
    where = f"similar_to={ids[7]}"
    page, _, _ = similar_ranked_page(dataset, SampleFilter.parse(where), offset=0, size=N)
    listed = [s.pk for s in page]
    assert listed[0] == ids[7] and set(listed[1:3]) == {ids[6], ids[8]}
    run = _run(dataset, alice, WEIGHTS, where, "near")
    assert run.pick_order == listed[:4]
    assert "nearest first to sample(s)" in run.message


def test_diversity_starts_at_the_query_sample(dataset, alice, ids):
    assert _run(dataset, alice, DIVERSITY, f"similar_to={ids[10]}", "d").pick_order == [ids[10]]


def test_without_similar_to_the_order_is_by_id(dataset, alice, ids):
    run = _run(dataset, alice, WEIGHTS, "", "plain")
    assert run.pick_order == ids[:4]
    assert "nearest first" not in run.message


def test_other_conditions_narrow_the_ranked_candidates(dataset, alice, ids):
    tag_free = f"similar_to={ids[7]}&q=s0"  # s00..s09: 8 and 9 stay, 10 and 11 go
    run = _run(dataset, alice, WEIGHTS, tag_free, "narrow")
    page, _, _ = similar_ranked_page(dataset, SampleFilter.parse(tag_free), offset=0, size=N)
    assert run.pick_order == [s.pk for s in page][:4]
    assert run.candidate_count == 10
