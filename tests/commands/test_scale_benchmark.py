"""``manage.py benchmark --suite scale``: size parsing, registration, the SQLite skip, and (on
PostgreSQL) one small end-to-end run of the table."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

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
    ):
        assert row in text
    shown, true = re.search(
        r"\| count shown for that filter \(true\) \| (\S+) \((\S+)\) \|", text
    ).groups()
    assert shown == true  # small: exact
    assert Dataset.objects.filter(name="bench-scale-500").exists()
    assert not Dataset.objects.filter(name="bench-scale-delete-500").exists()
