"""``manage.py benchmark --suite scale``: size parsing, registration, the SQLite skip, and (on
PostgreSQL) one small end-to-end run of the table."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from curation.benchmarks.scale import parse_sizes
from curation.models import Dataset


def test_sizes_parse_k_and_m():
    assert parse_sizes("10k, 100k,1M", quick=False) == [10_000, 100_000, 1_000_000]
    assert parse_sizes(None, quick=True) == [10_000]
    assert parse_sizes(None, quick=False) == [10_000, 100_000, 1_000_000]
    with pytest.raises(ValueError, match="at least 100 samples"):
        parse_sizes("5", quick=False)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite skip")
def test_sqlite_is_skipped_with_a_sentence():
    out = StringIO()
    call_command("benchmark", "--suite", "scale", "--sizes", "1k", stdout=out)
    assert "scale: skipped (SQLite)" in out.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the suite needs PostgreSQL")
def test_a_small_run_prints_every_row(settings, tmp_path):
    from curation.benchmarks.scale import run_scale_benchmark

    out = StringIO()
    run_scale_benchmark(out, quick=True, sizes="500", memory=False)
    text = out.getvalue()
    for row in (
        "| admin dataset list |",
        "| count shown for that filter (true) |",
        "| map points (binary, once per projection) |",
        "| delete a dataset (request; job) |",
        "| typicality K=20, approximate (recall@20) | skipped (exact below approximate_above",
    ):
        assert row in text
    shown, true = re.search(
        r"\| count shown for that filter \(true\) \| (\S+) \((\S+)\) \|", text
    ).groups()
    assert shown == true  # small: exact
    # a run of min(1,000, N / 10) picks through the queued job, its tag of that size
    assert re.search(
        r"\| selection run, diversity n=1,000 \(job\) \| [0-9.]+ s, succeeded,"
        r" tag of 50 \(n=50\) \|",
        text,
    )
    assert re.search(r"\| typicality K=20, exact \| [0-9.]+ s \|", text)
    assert (
        text.index("| delete a dataset")
        < text.index("| selection run")
        < text.index("| typicality K=20, exact")
    )
    dataset = Dataset.objects.get(name="bench-scale-500")
    assert not Dataset.objects.filter(name="bench-scale-delete-500").exists()
    # the run, its tag and its task row are gone: a reused dataset keeps 2 tags and 2 runs
    assert sorted(dataset.tags.values_list("name", flat=True)) == [
        "every-hundredth",
        "every-tenth",
    ]
    assert dataset.selection_runs.count() == 2
    assert not DBTaskResult.objects.filter(task_path__endswith="selection_run_task").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the suite needs PostgreSQL")
def test_typicality_rows_extrapolate_exact_and_report_recall(monkeypatch):
    from curation.benchmarks import scale_runs
    from curation.benchmarks.scale import _generate

    owner = get_user_model().objects.create_user("bench-typicality")
    dataset = _generate("bench-scale-typicality", 400, owner, runs=False)
    monkeypatch.setattr(scale_runs, "EXACT_MAX", 300)
    monkeypatch.setattr(scale_runs, "APPROXIMATE_MIN", 0)
    seen = {200: 90.0}
    row = scale_runs.typicality_rows(dataset, 400, seen)
    assert row[scale_runs.EXACT_ROW] == "skipped (est. 6 min, quadratic from 200)"
    assert seen == {200: 90.0}  # nothing exact ran
    approx = row[scale_runs.APPROX_ROW]
    recall = re.fullmatch(r"[0-9.]+ s, recall@20 ([0-9.]+) on ([0-9,]+) sampled", approx)
    assert recall is not None, approx
    assert 0.0 <= float(recall[1]) <= 1.0
    assert int(recall[2].replace(",", "")) > 0
    assert scale_runs.typicality_rows(dataset, 400, {})[scale_runs.EXACT_ROW] == (
        "skipped (quadratic)"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the suite needs PostgreSQL")
def test_a_failed_run_is_reported_and_leaves_nothing_behind():
    from curation.benchmarks import scale_runs
    from curation.benchmarks.scale import _generate
    from curation.storage.embeddings import embedding_paths

    owner = get_user_model().objects.create_user("bench-run")
    dataset = _generate("bench-scale-failing", 300, owner, runs=False)
    vectors, _ = embedding_paths(dataset.embedding_spaces.get(name="default"))
    vectors.unlink()
    cell = scale_runs.run_row(dataset, 300, owner)
    assert re.fullmatch(r"[0-9.]+ s, failed: The selection stopped on an unexpected error .*", cell)
    assert not dataset.selection_runs.exists()
    assert dataset.tags.count() == 2
    assert not DBTaskResult.objects.filter(task_path__endswith="selection_run_task").exists()
