"""One prepare step for a run's start and its execution: the config and the filter are parsed
once, the inputs resolved once, and the engine gets the parsed config, never the dict."""

from __future__ import annotations

import pytest

from curation.filters import SampleFilter
from curation.models import SelectionRun, Tag
from curation.runs import execute as runs_execute
from curation.runs import prepare as runs_prepare
from curation.runs.prepare import PreparedRun, selection_run_prepare
from curation.runs.services import SelectionRunError, selection_run_start
from curation.selection import SelectionConfig, parse_config, select
from tests.support.selection import diversity, engine_picks, populate, tag_ids, tag_named
from tests.support.workers import run_db_worker

Status = SelectionRun.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(monkeypatch):
    """How often each step ran, and the config objects the engine got."""
    calls = {"parse": 0, "resolve": 0, "engine": []}
    real_parse, real_resolve = runs_prepare.parse_run_config, runs_prepare.resolve_inputs

    def parse(config):
        calls["parse"] += 1
        return real_parse(config)

    def resolve(**kwargs):
        calls["resolve"] += 1
        return real_resolve(**kwargs)

    def engine(config, data, **kwargs):
        calls["engine"].append(config)
        return select(config, data, **kwargs)

    monkeypatch.setattr(runs_prepare, "parse_run_config", parse)
    monkeypatch.setattr(runs_prepare, "resolve_inputs", resolve)
    monkeypatch.setattr(runs_execute, "select", engine)
    return calls


def test_an_inline_run_is_prepared_once_and_the_engine_gets_the_parsed_config(
    dataset, alice, counted
):
    populate(dataset, n=30)
    run = selection_run_start(
        dataset=dataset, config=diversity(5), result_tag_name="p", user=alice, execute="inline"
    )
    assert run.status == Status.SUCCEEDED, run.error
    assert (counted["parse"], counted["resolve"]) == (1, 1)
    (config,) = counted["engine"]
    assert isinstance(config, SelectionConfig)
    assert config.strategies[0].input.embedding == "default"  # the only space, named
    assert run.config == diversity(5)  # the snapshot keeps what the user wrote
    assert tag_ids(dataset, "p") == set(engine_picks(dataset, diversity(5)))


@pytest.mark.django_db(transaction=True)  # the worker runs the task as in production
def test_a_queued_run_is_prepared_at_start_and_again_from_its_snapshot_in_the_worker(
    dataset, alice, counted
):
    populate(dataset, n=30)
    run = selection_run_start(dataset=dataset, config=diversity(5), result_tag_name="p", user=alice)
    assert (counted["parse"], counted["resolve"], counted["engine"]) == (1, 1, [])
    run_db_worker()
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert (counted["parse"], counted["resolve"]) == (2, 2)
    assert all(isinstance(c, SelectionConfig) for c in counted["engine"])
    assert tag_ids(dataset, "p") == set(engine_picks(dataset, diversity(5)))


def test_the_execution_checks_the_snapshot_as_the_start_did(dataset, alice):
    """A mask tag deleted while the run was queued fails it with the start's sentence."""
    ids = populate(dataset, n=30)
    tag_named(dataset, "hide", ids[:3])
    run = selection_run_start(
        dataset=dataset, config=diversity(5), result_tag_name="p", user=alice, mask_tag="hide"
    )
    Tag.objects.filter(dataset=dataset, name="hide").delete()
    runs_execute.selection_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error == f"mask_tag: no tag named 'hide' in dataset {dataset.name!r}."
    assert not Tag.objects.filter(dataset=dataset, name="p").exists()


def test_prepare_names_the_first_problem_in_a_fixed_order(dataset, alice):
    populate(dataset, n=10)
    tag_named(dataset, "taken", [])
    bad_config = {"n_samples": 0, "strategies": []}
    with pytest.raises(SelectionRunError) as config_first:
        selection_run_prepare(
            dataset=dataset, config=bad_config, user=alice, result_tag_name="taken"
        )
    assert config_first.value.path != "result_tag_name"
    with pytest.raises(SelectionRunError) as name_next:
        selection_run_prepare(
            dataset=dataset,
            config=diversity(3),
            user=alice,
            result_tag_name="taken",
            mask_tag="missing",
        )
    assert name_next.value.path == "result_tag_name"
    with pytest.raises(SelectionRunError) as filter_dict:
        selection_run_prepare(
            dataset=dataset, config=diversity(3), user=alice, candidate_filter={"nope": ["1"]}
        )
    assert filter_dict.value.path == "candidate_filter"


def test_a_parsed_filter_is_used_as_is_and_the_result_is_frozen(dataset, alice):
    populate(dataset, n=10)
    sample_filter = SampleFilter()
    prepared = selection_run_prepare(
        dataset=dataset, config=diversity(3), user=alice, candidate_filter=sample_filter
    )
    assert isinstance(prepared, PreparedRun) and prepared.sample_filter is sample_filter
    assert prepared.counts.candidates == 10 and prepared.result_tag_name is None
    assert prepared.engine_config == parse_config(
        {
            "n_samples": 3,
            "strategies": [
                {
                    "input": {"type": "EMBEDDINGS", "embedding": "default"},
                    "strategy": {"type": "DIVERSITY"},
                }
            ],
        }
    )
    with pytest.raises(AttributeError):
        prepared.mask = None  # type: ignore[misc]
