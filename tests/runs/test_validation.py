"""Every way a selection can be refused at start: one sentence naming the JSON path or the
parameter, and nothing written (no run, no tag)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from curation.filters import SampleFilter
from curation.models import Dataset, Sample, Tag
from curation.runs.services import SelectionRunError, selection_run_start
from curation.storage.embeddings import embedding_space_store
from tests.support.selection import diversity, populate, runs_and_tags, tag_named


def _strategy(input_: dict[str, Any], strategy: dict[str, Any], n: int = 5) -> dict[str, Any]:
    return {"n_samples": n, "strategies": [{"input": input_, "strategy": strategy}]}


WEIGHTS_ON = {"type": "WEIGHTS"}
META = "METADATA"

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    # id, config, start kwargs, expected path, expected message fragment
    (
        "bad-operation",
        _strategy(
            {"type": META, "key": "lightly.sharpness"},
            {"type": "THRESHOLD", "threshold": 1, "operation": "BIGGEST"},
        ),
        {},
        "strategies[0].strategy.operation",
        "strategies[0].strategy.operation: must be one of",
    ),
    ("n-zero", diversity(0), {}, "n_samples", "n_samples: must be >= 1"),
    (
        "unknown-key",
        {**diversity(3), "mode": "fast"},
        {},
        "",
        "mode",
    ),
    ("tag-taken", diversity(3), {"result_tag_name": "taken"}, "result_tag_name", "'taken'"),
    ("tag-blank", diversity(3), {"result_tag_name": "  "}, "result_tag_name", "a tag needs a name"),
    (
        "unknown-space",
        _strategy({"type": "EMBEDDINGS", "embedding": "clip"}, {"type": "DIVERSITY"}),
        {},
        "strategies[0].input.embedding",
        "has no embedding space 'clip' (known: default)",
    ),
    (
        "missing-metadata",
        _strategy({"type": META, "key": "nope"}, WEIGHTS_ON),
        {},
        "strategies[0].input.key",
        "no candidate has a value for metadata key 'nope'",
    ),
    (
        "string-weights",
        _strategy({"type": META, "key": "weather.description"}, WEIGHTS_ON),
        {},
        "strategies[0].input.key",
        "WEIGHTS needs numeric metadata, but 'weather.description' holds 'sunny'",
    ),
    (
        "numeric-balance",
        _strategy(
            {"type": META, "key": "lightly.sharpness"},
            {"type": "BALANCE", "distribution": "UNIFORM"},
        ),
        {},
        "strategies[0].input.key",
        "BALANCE needs string metadata",
    ),
    (
        "missing-score",
        _strategy({"type": "SCORES", "task": "model", "score": "margin"}, WEIGHTS_ON),
        {},
        "strategies[0].input",
        "has no score 'margin' for task 'model'",
    ),
    (
        "missing-task",
        _strategy(
            {"type": "PREDICTIONS", "task": "detector", "name": "CATEGORY_COUNT"},
            {"type": "BALANCE", "distribution": "UNIFORM"},
        ),
        {},
        "strategies[0].input.task",
        "no prediction task 'detector' (known: model)",
    ),
    (
        "missing-query-tag",
        _strategy({"type": "EMBEDDINGS", "tag_name": "nope"}, {"type": "SIMILARITY"}),
        {},
        "strategies[0].input.tag_name",
        "no tag named 'nope'",
    ),
    (
        "empty-query-tag",
        _strategy({"type": "EMBEDDINGS", "tag_name": "empty"}, {"type": "SIMILARITY"}),
        {},
        "strategies[0].input.tag_name",
        "the query tag 'empty' is empty",
    ),
    (
        "query-tag-without-vectors",
        _strategy({"type": "EMBEDDINGS", "tag_name": "novectors"}, {"type": "SIMILARITY"}),
        {},
        "strategies[0].input.tag_name",
        "no sample of the query tag 'novectors' has a vector",
    ),
    ("missing-mask-tag", diversity(3), {"mask_tag": "ghost"}, "mask_tag", "no tag named 'ghost'"),
    (
        "missing-preselected-tag",
        diversity(3),
        {"preselected_tag": "ghost"},
        "preselected_tag",
        "preselected_tag: no tag named 'ghost'",
    ),
    (
        "filter-unknown-tag",
        diversity(3),
        {"candidate_filter": SampleFilter.parse("tag=ghost")},
        "candidate_filter",
        "No tag named 'ghost'",
    ),
    (
        "no-candidates",
        diversity(3),
        {"candidate_filter": SampleFilter.parse("min:lightly.sharpness=1000")},
        "candidate_filter",
        "no sample of dataset 'cats' matches (lightly.sharpness >= 1000); widen the filter",
    ),
]


@pytest.mark.parametrize(
    ("config", "kwargs", "path", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_it_refuses_to_start_and_writes_nothing(dataset, alice, config, kwargs, path, fragment):
    ids = populate(dataset, n=30, vectors=25)
    tag_named(dataset, "taken", ids[:2])
    Tag.objects.create(dataset=dataset, name="empty")
    tag_named(dataset, "novectors", ids[26:28])
    before = runs_and_tags(dataset)
    options = {"result_tag_name": "picked", **kwargs}

    with pytest.raises(SelectionRunError) as caught:
        selection_run_start(dataset=dataset, config=config, user=alice, **options)

    assert fragment in str(caught.value)
    assert caught.value.path == path or not path
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)
    assert runs_and_tags(dataset) == before
    assert not Tag.objects.filter(dataset=dataset, name="picked").exists()


def test_several_spaces_and_none_named(dataset, alice):
    ids = populate(dataset, n=10)
    embedding_space_store(
        dataset=dataset, name="other", matrix=np.ones((10, 3)), sample_ids=np.asarray(ids)
    )
    with pytest.raises(SelectionRunError, match=r"several embedding spaces \(default, other\)"):
        selection_run_start(dataset=dataset, config=diversity(3), result_tag_name="t", user=alice)
    assert runs_and_tags(dataset) == (0, 0)


def test_a_dataset_without_embeddings(alice):
    bare = Dataset.objects.create(name="bare", owner=alice)
    Sample.objects.create(dataset=bare, file_name="a.jpg")
    with pytest.raises(SelectionRunError, match="has no embeddings; import them first"):
        selection_run_start(dataset=bare, config=diversity(1), result_tag_name="t", user=alice)


def test_weights_need_a_value_on_every_candidate(dataset, alice):
    ids = populate(dataset, n=20)
    Sample.objects.filter(pk__in=ids[:3]).update(metadata={})
    config = _strategy({"type": META, "key": "lightly.sharpness"}, WEIGHTS_ON)
    with pytest.raises(SelectionRunError, match=r"3 candidate\(s\) have no value"):
        selection_run_start(dataset=dataset, config=config, result_tag_name="t", user=alice)
    # A THRESHOLD on the same key is fine: a missing value fails the threshold.
    threshold = _strategy(
        {"type": META, "key": "lightly.sharpness"},
        {"type": "THRESHOLD", "threshold": -1, "operation": "BIGGER"},
    )
    threshold["strategies"].append(
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}
    )
    threshold["n_samples"] = 100
    run = selection_run_start(
        dataset=dataset, config=threshold, result_tag_name="t", user=alice, execute="inline"
    )
    assert run.status == "succeeded", run.error
    assert set(run.pick_order) == set(ids[3:])


def test_a_value_error_found_while_running_fails_the_run_without_a_tag(dataset, alice):
    ids = populate(dataset, n=20)
    Sample.objects.filter(pk=ids[5]).update(metadata={"lightly.sharpness": -4.0})
    config = _strategy({"type": META, "key": "lightly.sharpness"}, WEIGHTS_ON)
    run = selection_run_start(
        dataset=dataset, config=config, result_tag_name="t", user=alice, execute="inline"
    )
    assert run.status == "failed"
    assert run.error.startswith("strategies[0].input: weights must be >= 0")
    assert "Traceback" not in run.error
    assert not Tag.objects.filter(dataset=dataset, name="t").exists()
    assert run.pick_order == [] and run.result_tag is None
