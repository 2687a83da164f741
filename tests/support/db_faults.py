"""Real database failures for tests: :func:`refusing_writes` installs a trigger that makes the
database itself refuse every INSERT and UPDATE on a model's table with a ``DatabaseError``, so
a test sees the error a full disk or a lost connection would give without mocking the ORM.

The trigger is created inside the test's transaction and removed when the block ends (it is
rolled back with the test's transaction in any case). SQLite and PostgreSQL are supported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.models import Model


@contextmanager
def refusing_writes(model: type[Model], message: str) -> Iterator[None]:
    """While the block runs, the database refuses to insert or update ``model``'s rows."""
    table = connection.ops.quote_name(model._meta.db_table)
    name = f"refuse_{model._meta.db_table}"
    if connection.vendor == "sqlite":
        literal = message.replace("'", "''")
        create = [
            f"CREATE TRIGGER {name}_insert BEFORE INSERT ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{literal}'); END",
            f"CREATE TRIGGER {name}_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{literal}'); END",
        ]
        drop = [f"DROP TRIGGER {name}_insert", f"DROP TRIGGER {name}_update"]
    elif connection.vendor == "postgresql":
        literal = message.replace("'", "''")
        create = [
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN RAISE EXCEPTION '{literal}'; END $$",
            f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
        drop = [f"DROP TRIGGER {name} ON {table}", f"DROP FUNCTION {name}()"]
    else:  # pragma: no cover - the project runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"no write-refusing trigger for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)
