"""How the app uses its database: SQLite as a concurrent app must (WAL, a busy timeout,
IMMEDIATE transactions, also for connections opened in threads), PostgreSQL through a bounded
pool whose size comes from the environment."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from curation.env import database_config


def test_sqlite_file_from_a_url_gets_the_same_concurrency_options(tmp_path):
    config = database_config(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path)
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] == 20
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgresql_connections_come_from_a_bounded_pool(tmp_path):
    config = database_config(
        "postgres://u@db:5432/curation", tmp_path, pool_size=7, pool_timeout=12
    )
    assert config["CONN_MAX_AGE"] == 0
    assert config["OPTIONS"]["pool"] == {
        "min_size": 1,
        "max_size": 7,
        "timeout": 12,
        "max_idle": 300,
    }


def test_a_pool_size_of_zero_opens_one_connection_per_request(tmp_path):
    config = database_config("postgres://u@db:5432/curation", tmp_path, pool_size=0)
    assert "pool" not in config.get("OPTIONS", {})
    assert config["CONN_MAX_AGE"] == 0


def test_a_negative_pool_size_is_refused_with_a_sentence(tmp_path):
    with pytest.raises(ImproperlyConfigured, match=r"CURATION_DB_POOL_SIZE=-1 must be 0"):
        database_config("postgres://u@db:5432/curation", tmp_path, pool_size=-1)


@pytest.mark.django_db(transaction=True)
def test_sqlite_connections_in_threads_wait_on_locks_and_begin_immediate():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    seen = {}

    def probe():
        from django.db import connection as thread_connection

        with thread_connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            seen["busy_timeout"] = cursor.fetchone()[0]
        seen["transaction_mode"] = thread_connection.transaction_mode
        thread_connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    assert seen == {"busy_timeout": 20000, "transaction_mode": "IMMEDIATE"}


@pytest.mark.django_db
def test_postgresql_borrows_from_the_configured_pool(settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    connection.ensure_connection()
    assert connection.pool is not None
    assert connection.pool.max_size == settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
