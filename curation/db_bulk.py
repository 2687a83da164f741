"""Bulk inserts for large writes (imports, tag members): ``COPY`` on PostgreSQL, one
``executemany`` elsewhere, always inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.db import connection, models


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert ``rows`` (one value per field, ready for the database: JSON already a string)
    into ``model``'s table in the caller's transaction; returns how many.

    The ORM's ``bulk_create`` spends most of its time building model instances and SQL; here
    PostgreSQL gets a ``COPY`` and other databases one ``executemany`` (a C loop in sqlite3).
    """
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(cast(models.Field, meta.get_field(n)).column)) for n in fields)
    table = quote(meta.db_table)
    count = 0

    def counted() -> Iterable[Sequence[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy"):  # psycopg 3
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in counted():
                    copy.write_row(row)
        else:
            values = ", ".join(["%s"] * len(fields))  # names: quoted model names; values: params
            sql = f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608
            cursor.executemany(sql, cast(Any, counted()))  # sqlite3 takes any iterable
    return count
