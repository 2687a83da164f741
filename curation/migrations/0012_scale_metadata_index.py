"""Indexes for the filter language's metadata predicates at millions of samples (issue 13).

PostgreSQL only (SQLite keeps its plan; nothing is created there):

- ``sample_metadata_path_idx``: GIN ``jsonb_path_ops`` on ``curation_sample.metadata``. It serves
  ``meta:KEY=V``, which ``curation.filter_metadata`` writes as ``metadata @> '{"KEY": V}'``
  (any key, any scalar type), and lets the planner intersect it with other bitmaps.
- ``annotation_task_label_sample_idx``: ``(task_id, label) INCLUDE (sample_id)``, so the
  ``label=``/``task=`` semi-join reads the matching sample ids from the index alone.

Plain SQL (``IF NOT EXISTS``) so the model state stays as it is, like migration 0003.
"""

from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS sample_metadata_path_idx ON curation_sample "
    "USING gin (metadata jsonb_path_ops)",
    "CREATE INDEX IF NOT EXISTS annotation_task_label_sample_idx ON curation_annotation "
    "(task_id, label) INCLUDE (sample_id)",
]
DROP = [
    "DROP INDEX IF EXISTS annotation_task_label_sample_idx",
    "DROP INDEX IF EXISTS sample_metadata_path_idx",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in CREATE:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("curation", "0011_job_kind_scores")]

    operations = [migrations.RunPython(forwards, backwards)]
