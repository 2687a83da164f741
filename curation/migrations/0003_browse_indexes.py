"""Indexes for the sample browser.

- ``(dataset_id, id)``: keyset pages of one dataset (SQLite and PostgreSQL).
- PostgreSQL only, when the ``pg_trgm`` extension can be created (or exists): a trigram GIN
  index on ``UPPER(file_name)`` so the file-name search (``icontains``) does not scan 1M rows.
  Without the right to create extensions the index is skipped; searches still work, slower.

Plain SQL (``IF NOT EXISTS``) so the model state stays as it is.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS sample_dataset_id_idx ON curation_sample (dataset_id, id)"
    )
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        available = cursor.fetchone() is not None
        if not available:
            cursor.execute("SAVEPOINT curation_trgm")
            try:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                cursor.execute("RELEASE SAVEPOINT curation_trgm")
                available = True
            except Exception:  # no privilege: skip the index
                cursor.execute("ROLLBACK TO SAVEPOINT curation_trgm")
        if available:
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS sample_file_name_trgm_idx ON curation_sample "
                "USING gin (UPPER(file_name::text) gin_trgm_ops)"
            )


def backwards(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS sample_file_name_trgm_idx")
    schema_editor.execute("DROP INDEX IF EXISTS sample_dataset_id_idx")


class Migration(migrations.Migration):
    dependencies = [("curation", "0002_api_tokens")]

    operations = [migrations.RunPython(forwards, backwards)]
