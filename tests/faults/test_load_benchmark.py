"""``manage.py benchmark --suite load``: only ever aims at this machine, skips on SQLite."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from curation.benchmarks.load import _check_local


@pytest.mark.parametrize(
    "url", ["http://example.com:8000", "https://127.0.0.1:8000", "http://10.0.0.1/", "ftp://x"]
)
def test_the_load_benchmark_refuses_any_other_host(url):
    with pytest.raises(CommandError, match=r"only targets http://127\.0\.0\.1"):
        _check_local(url)


def test_local_urls_are_accepted():
    assert _check_local("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert _check_local("http://localhost:9000") == "http://localhost:9000"


@pytest.mark.django_db
def test_on_sqlite_the_load_suite_is_skipped_with_a_reason():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    out = StringIO()
    call_command("benchmark", "--suite", "load", stdout=out)
    assert "load: skipped (SQLite). Run with DATABASE_URL=postgres://" in out.getvalue()
