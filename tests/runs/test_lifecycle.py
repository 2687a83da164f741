"""A selection run from start to result tag: through the durable task queue, the immediate
backend and inline; the result equals the engine's picks on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from django_tasks_db.models import DBTaskResult

from curation.filters import SampleFilter
from curation.models import SelectionRun, Tag
from curation.runs import execute as runs_service
from curation.runs.services import selection_run_cancel, selection_run_start
from curation.storage.embeddings import embedding_space_load
from tests.support.selection import (
    diversity,
    engine_picks,
    populate,
    tag_ids,
    tag_named,
)
from tests.support.workers import run_db_worker

Status = SelectionRun.Status


@pytest.fixture
def pushed(monkeypatch):
    """The (status, picks_done) of every progress fragment pushed to watching browsers."""
    seen: list[tuple[str, int]] = []
    real_push = runs_service.run_progress_push

    def spy(run):
        seen.append((run.status, run.picks_done))
        real_push(run)

    monkeypatch.setattr(runs_service, "run_progress_push", spy)
    return seen


@pytest.mark.django_db(transaction=True)
def test_it_runs_through_the_durable_queue_from_queued_to_succeeded(dataset, alice, pushed):
    populate(dataset, n=80)
    config = diversity(12)

    run = selection_run_start(dataset=dataset, config=config, result_tag_name="picked", user=alice)

    run.refresh_from_db()
    assert run.status == Status.QUEUED
    assert run.candidate_count == 80 and run.requested_n == 12
    task = DBTaskResult.objects.get()
    assert run.task_id == str(task.id)
    assert not Tag.objects.filter(dataset=dataset, name="picked").exists()

    run_db_worker()

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert pushed[0][0] == Status.RUNNING and pushed[-1][0] == Status.SUCCEEDED
    expected = engine_picks(dataset, config)
    assert run.pick_order == expected
    tag = Tag.objects.get(dataset=dataset, name="picked")
    assert run.result_tag == tag and tag.kind == Tag.Kind.SELECTION and tag.created_by == alice
    assert tag_ids(dataset, "picked") == set(expected)
    assert run.selected_count == 12 and run.picks_done == 12 and run.progress == 1.0
    assert run.stopped_by == "n_reached"
    picks = run.explanation["picks"]
    assert [p["sample_id"] for p in picks] == expected
    assert [p["rank"] for p in picks] == list(range(12))
    label = run.explanation["labels"][0]
    assert "DIVERSITY" in label
    assert picks[0]["terms"][label] is None  # constant before anything was selected
    assert all(p["terms"][label] is not None for p in picks[1:])
    assert {"load_s", "engine_s", "write_s", "total_s"} <= set(run.timings)
    assert run.started_at <= run.finished_at
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL" and task.return_value == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_queued_run_is_skipped_by_the_worker(dataset, alice):
    populate(dataset, n=20)
    run = selection_run_start(
        dataset=dataset, config=diversity(5), result_tag_name="picked", user=alice
    )
    selection_run_cancel(run=run, user=alice)

    run_db_worker()

    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.started_at is None
    assert not Tag.objects.filter(dataset=dataset).exists()
    assert DBTaskResult.objects.get().return_value == "skipped"


def test_it_runs_with_the_immediate_backend_after_commit(
    dataset, alice, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    populate(dataset, n=30)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = selection_run_start(
            dataset=dataset, config=diversity(4), result_tag_name="picked", user=alice
        )
    assert callbacks  # enqueued only once the run row is committed
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    assert run.pick_order == engine_picks(dataset, diversity(4))


def test_it_runs_inline_for_the_cli_and_reports_progress(dataset, alice):
    populate(dataset, n=40)
    seen = []
    run = selection_run_start(
        dataset=dataset,
        config=diversity(8),
        result_tag_name="picked",
        user=alice,
        execute="inline",
        progress=lambda r: seen.append((r.picks_done, r.requested_n)),
    )
    assert run.status == Status.SUCCEEDED
    assert seen[-1] == (8, 8)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


COMBINED = {
    "n_samples": 15,
    "strategies": [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "strength": 0.5}},
        {
            "input": {"type": "METADATA", "key": "lightly.sharpness"},
            "strategy": {"type": "WEIGHTS"},
        },
        {
            "input": {"type": "METADATA", "key": "lightly.sharpness"},
            "strategy": {"type": "THRESHOLD", "threshold": 10, "operation": "BIGGER"},
        },
        {
            "input": {"type": "SCORES", "task": "model", "score": "uncertainty_entropy"},
            "strategy": {"type": "WEIGHTS", "strength": 0.3},
        },
        {
            "input": {"type": "METADATA", "key": "weather.description"},
            "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
        },
        {
            "input": {"type": "PREDICTIONS", "task": "model", "name": "CLASS_DISTRIBUTION"},
            "strategy": {"type": "BALANCE", "target": {"cat": 0.7}},
        },
    ],
}


def _arrays(dataset):
    """The same inputs, built directly from the ORM objects (sample by sample)."""
    samples = list(dataset.samples.order_by("pk").prefetch_related("scores", "annotations"))
    sharp = np.array([s.metadata["lightly.sharpness"] for s in samples])
    weather = np.array([s.metadata["weather.description"] for s in samples], dtype=object)
    entropy = np.array([s.scores.get().value for s in samples])
    probs = np.array([s.annotations.get().probabilities for s in samples])
    return {
        "metadata": {"lightly.sharpness": sharp, "weather.description": weather},
        "scores": {("model", "uncertainty_entropy"): entropy},
        "predictions": {("model", "CLASS_DISTRIBUTION"): (probs, ["cat", "dog"])},
    }


def test_metadata_scores_and_predictions_are_loaded_in_candidate_order(dataset, alice):
    populate(dataset, n=90, seed=3)
    run = selection_run_start(
        dataset=dataset, config=COMBINED, result_tag_name="mix", user=alice, execute="inline"
    )
    assert run.status == Status.SUCCEEDED, run.error
    assert run.pick_order == engine_picks(dataset, COMBINED, **_arrays(dataset))


def test_similarity_uses_the_query_tags_vectors(dataset, alice):
    ids = populate(dataset, n=50, seed=5)
    tag_named(dataset, "query", ids[:3])
    config = {
        "n_samples": 6,
        "strategies": [
            {
                "input": {"type": "EMBEDDINGS", "tag_name": "query"},
                "strategy": {"type": "SIMILARITY"},
            }
        ],
    }
    run = selection_run_start(
        dataset=dataset, config=config, result_tag_name="near", user=alice, execute="inline"
    )
    assert run.status == Status.SUCCEEDED, run.error
    space = dataset.embedding_spaces.get()
    loaded = embedding_space_load(space)
    queries = {"query": np.asarray(loaded.matrix)[np.isin(loaded.sample_ids, ids[:3])]}
    assert run.pick_order == engine_picks(dataset, config, queries=queries)
    assert set(ids[:3]) <= set(run.pick_order)  # a query sample is nearest to itself


def test_the_candidate_filter_and_its_snapshot(dataset, alice):
    ids = populate(dataset, n=60)
    sample_filter = SampleFilter.parse("min:lightly.sharpness=50")
    run = selection_run_start(
        dataset=dataset,
        config=diversity(1000),
        result_tag_name="sharp",
        user=alice,
        candidate_filter=sample_filter,
        execute="inline",
    )
    sharp = {s.pk for s in dataset.samples.all() if s.metadata["lightly.sharpness"] >= 50}
    assert run.status == Status.SUCCEEDED
    assert set(run.pick_order) == sharp and len(sharp) < len(ids)
    assert run.candidate_filter == {"min:lightly.sharpness": ["50"]}
    assert f"selected all {len(sharp)}" in run.message
    assert run.stopped_by == "candidates_exhausted"


def test_candidates_without_a_vector_are_excluded_and_reported(dataset, alice):
    ids = populate(dataset, n=30, vectors=25)
    run = selection_run_start(
        dataset=dataset, config=diversity(100), result_tag_name="all", user=alice, execute="inline"
    )
    assert run.status == Status.SUCCEEDED
    assert set(run.pick_order) == set(ids[:25])
    assert run.candidate_count == 25
    assert "5 candidate(s) without an embedding vector were excluded" in run.message


def test_minimum_distance_stop_is_reported(dataset, alice):
    populate(dataset, n=60)
    config = diversity(50, stopping_condition_minimum_distance=1.2)
    run = selection_run_start(
        dataset=dataset, config=config, result_tag_name="spread", user=alice, execute="inline"
    )
    assert run.status == Status.SUCCEEDED
    assert run.stopped_by == "minimum_distance"
    assert 0 < run.selected_count < 50
    assert f"Stopped at {run.selected_count} samples" in run.message
    assert run.pick_order == engine_picks(dataset, config)


def test_a_run_from_a_preset_records_it_and_marks_it_used(dataset, alice):
    from curation.models import StrategyPreset

    populate(dataset, n=20)
    preset = StrategyPreset.objects.create(name="spread", owner=alice, config=diversity(3))
    run = selection_run_start(
        dataset=dataset,
        config=preset.config,
        result_tag_name="p",
        user=alice,
        preset=preset,
        execute="inline",
    )
    preset.refresh_from_db()
    assert run.preset == preset and run.status == Status.SUCCEEDED
    assert preset.last_used_by == alice and preset.last_used_at is not None
