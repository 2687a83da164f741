"""Imports refresh the planner statistics of the tables they wrote (``ANALYZE`` on PostgreSQL,
outside the write transaction, best effort) and skip it on SQLite."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from curation.imports.services import dataset_import, tables_analyze, written_models
from curation.jobs.services import import_job_start
from curation.models import Job, Sample, Score, TagSample
from tests.support.ingest import make_images

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="planner statistics are PostgreSQL's"
)


def _analyze_count(model) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # read the current statistics
        cursor.execute(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s",
            [model._meta.db_table],
        )
        return int(cursor.fetchone()[0])


@postgres_only
@pytest.mark.django_db
def test_an_import_analyzes_the_samples_table(dataset, tmp_path):
    make_images(tmp_path / "images", ["a.png", "b.png", "c.png"])
    before = _analyze_count(Sample)
    unwritten = _analyze_count(Score)

    summary = dataset_import(dataset=dataset, images=tmp_path / "images", embed="never")

    assert summary.images_added == 3
    assert _analyze_count(Sample) == before + 1
    assert _analyze_count(Score) == unwritten  # not written: not analyzed


@postgres_only
@pytest.mark.django_db
def test_an_import_job_analyzes_after_its_commit(dataset, alice, tmp_path):
    make_images(tmp_path / "images", ["a.png", "b.png"])
    before = _analyze_count(Sample)
    job = import_job_start(
        dataset=dataset,
        user=alice,
        options={"images": str(tmp_path / "images"), "embed": "never"},
        execute="inline",
    )
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert _analyze_count(Sample) == before + 1


@postgres_only
@pytest.mark.django_db
def test_a_failing_analyze_is_logged_and_never_raised(caplog):
    missing = SimpleNamespace(_meta=SimpleNamespace(db_table="no_such_table"))
    with caplog.at_level(logging.WARNING, logger="curation.imports.services"):
        assert tables_analyze([missing, Sample]) == [Sample._meta.db_table]  # type: ignore[list-item]
    assert "ANALYZE of no_such_table failed after an import" in caplog.text
    assert Sample.objects.count() == 0  # the connection is still usable


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite behaviour")
@pytest.mark.django_db
def test_sqlite_skips_analyze(dataset, tmp_path):
    make_images(tmp_path / "images", ["a.png"])
    with CaptureQueriesContext(connection) as queries:
        summary = dataset_import(dataset=dataset, images=tmp_path / "images", embed="never")
    assert summary.images_added == 1
    assert not [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("ANALYZE")]
    assert tables_analyze([Sample, TagSample]) == []


def test_written_models_name_the_tables_an_import_wrote(db):
    from curation.imports.summary import ImportSummary

    summary = ImportSummary(dataset=None)  # type: ignore[arg-type]
    assert written_models(summary) == []
    summary.metadata_rows, summary.tags, summary.scores = 2, {"t": 1}, {"m": 3}
    assert written_models(summary) == [Sample, Score, TagSample]
