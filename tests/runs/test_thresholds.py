"""THRESHOLD strategies remove candidates before WEIGHTS look for missing values (issue 10.10):
a WEIGHTS on a metadata key or score that some candidates lack runs when a THRESHOLD on the same
input removes exactly those candidates, and is refused, naming the path, when it does not."""

from __future__ import annotations

from typing import Any

import pytest

from curation.models import Sample, Score, SelectionRun
from curation.runs.services import SelectionRunError, selection_run_start
from tests.support.selection import populate, runs_and_tags


def _speed_dataset(dataset) -> dict[int, float]:
    """30 samples; the first 10 lack ``speed``, the others have speed 1..20 (by pk)."""
    ids = populate(dataset, n=30, dim=4)
    speeds: dict[int, float] = {}
    for rank, sample in enumerate(Sample.objects.filter(pk__in=ids).order_by("pk")):
        if rank >= 10:
            speeds[sample.pk] = float(rank - 9)
            sample.metadata["speed"] = speeds[sample.pk]
            sample.save(update_fields=["metadata"])
    return speeds


def _config(n: int, *strategies: dict[str, Any]) -> dict[str, Any]:
    return {"n_samples": n, "strategies": list(strategies)}


SPEED = {"type": "METADATA", "key": "speed"}
WEIGHTS = {"input": SPEED, "strategy": {"type": "WEIGHTS"}}


def test_a_threshold_removes_the_candidates_lacking_the_weighted_key(dataset, alice):
    speeds = _speed_dataset(dataset)
    config = _config(
        5,
        WEIGHTS,
        {"input": SPEED, "strategy": {"type": "THRESHOLD", "threshold": 0, "operation": "BIGGER"}},
    )
    run = selection_run_start(
        dataset=dataset, config=config, result_tag_name="fast", user=alice, execute="inline"
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    fastest = sorted(speeds, key=speeds.__getitem__, reverse=True)[:5]
    assert run.pick_order == fastest
    assert run.candidate_count == 30


def test_a_threshold_that_also_narrows_keeps_the_rest(dataset, alice):
    speeds = _speed_dataset(dataset)
    config = _config(
        3,
        {"input": SPEED, "strategy": {"type": "WEIGHTS", "strength": -1}},
        {"input": SPEED, "strategy": {"type": "THRESHOLD", "threshold": 5, "operation": "BIGGER"}},
    )
    run = selection_run_start(
        dataset=dataset, config=config, result_tag_name="slowish", user=alice, execute="inline"
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    assert sorted(speeds[pk] for pk in run.pick_order) == [6.0, 7.0, 8.0]


def test_without_a_threshold_the_missing_values_are_refused(dataset, alice):
    _speed_dataset(dataset)
    with pytest.raises(SelectionRunError) as refused:
        selection_run_start(
            dataset=dataset,
            config=_config(5, WEIGHTS),
            result_tag_name="fast",
            user=alice,
            execute="inline",
        )
    assert str(refused.value) == (
        "strategies[0].input.key: 10 candidate(s) have no value for metadata key 'speed'; "
        "narrow the candidates or use a THRESHOLD first."
    )
    assert runs_and_tags(dataset) == (0, 0)


def test_a_threshold_on_another_key_does_not_excuse_the_missing_values(dataset, alice):
    _speed_dataset(dataset)
    config = _config(
        5,
        WEIGHTS,
        {
            "input": {"type": "METADATA", "key": "lightly.sharpness"},
            "strategy": {"type": "THRESHOLD", "threshold": -1, "operation": "BIGGER"},
        },
    )
    with pytest.raises(SelectionRunError, match="10 candidate"):
        selection_run_start(
            dataset=dataset, config=config, result_tag_name="fast", user=alice, execute="inline"
        )
    assert runs_and_tags(dataset) == (0, 0)


def test_a_score_threshold_removes_the_candidates_lacking_the_weighted_score(dataset, alice):
    ids = populate(dataset, n=30, dim=4)
    Score.objects.filter(sample_id__in=ids[:8]).delete()
    score = {"type": "SCORES", "task": "model", "score": "uncertainty_entropy"}
    config = _config(
        4,
        {"input": score, "strategy": {"type": "WEIGHTS"}},
        {
            "input": score,
            "strategy": {"type": "THRESHOLD", "threshold": 0, "operation": "BIGGER_EQUAL"},
        },
    )
    run = selection_run_start(
        dataset=dataset, config=config, result_tag_name="unsure", user=alice, execute="inline"
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    values = dict(Score.objects.filter(sample_id__in=ids).values_list("sample_id", "value"))
    assert run.pick_order == sorted(values, key=values.__getitem__, reverse=True)[:4]
