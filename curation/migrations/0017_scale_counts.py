# Filled in by hand: a per-dataset data version kept by database triggers (issue 13).
#
# curation_datasetcounts.version grows by one for every statement that inserts, updates or
# deletes rows of curation_sample, curation_annotation or curation_tagsample of the dataset
# (statement-level triggers with transition tables: one grouped UPDATE per statement, cheap for
# bulk imports), in the writing transaction. A filter result stored under the version read
# before computing it is therefore exact for as long as the version stays the same
# (curation.browse.filter_cache). PostgreSQL only: SQLite keeps NULL and never caches (the
# column is nullable so that SQLite adds it without rebuilding the table and its triggers).

from django.db import migrations, models

TABLES = {
    # table: how to find the datasets of the changed rows (``changed`` = a transition table)
    "curation_sample": "SELECT DISTINCT dataset_id FROM changed",
    "curation_annotation": (
        "SELECT t.dataset_id FROM curation_annotationtask t "
        "WHERE t.id IN (SELECT DISTINCT task_id FROM changed)"
    ),
    "curation_tagsample": (
        "SELECT t.dataset_id FROM curation_tag t "
        "WHERE t.id IN (SELECT DISTINCT tag_id FROM changed)"
    ),
}
EVENTS = {"inserted": "INSERT", "deleted": "DELETE", "updated": "UPDATE"}


def _function(table: str, event: str) -> str:
    return f"curation_version_{table.removeprefix('curation_')}_{event}"


def _statements() -> list[str]:
    statements = []
    for table, datasets in TABLES.items():
        for event, verb in EVENTS.items():
            name = _function(table, event)
            which = datasets
            if event == "updated":  # a row moved to another dataset, task or tag: both sides
                which = f"{datasets} UNION {datasets.replace('changed', 'changed_old')}"
            statements.append(
                f"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE curation_datasetcounts SET version = COALESCE(version, 0) + 1
                    WHERE dataset_id IN ({which});
                    RETURN NULL;
                END $$
                """  # noqa: S608 (table names from this file)
            )
            referencing = {
                "inserted": "NEW TABLE AS changed",
                "deleted": "OLD TABLE AS changed",
                "updated": "OLD TABLE AS changed_old NEW TABLE AS changed",
            }[event]
            statements.append(
                f"CREATE TRIGGER {name} AFTER {verb} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    return statements


def _reverse() -> list[str]:
    statements = []
    for table in TABLES:
        for event in EVENTS:
            name = _function(table, event)
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            statements.append(f"DROP FUNCTION IF EXISTS {name}()")
    return statements


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in _statements():
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in _reverse():
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("curation", "0016_videos")]

    operations = [
        migrations.AddField(
            model_name="datasetcounts",
            name="version",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
