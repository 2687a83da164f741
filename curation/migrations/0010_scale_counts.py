# Filled in by hand: exact per-dataset sample counts kept by database triggers (issue 13).
#
# curation_datasetcounts has one row per dataset (inserted by a trigger on curation_dataset)
# whose ``samples`` column triggers on curation_sample keep exact in the writing transaction:
# PostgreSQL uses statement-level triggers with transition tables (one grouped UPDATE per
# INSERT/COPY/DELETE statement, cheap for bulk imports); SQLite uses row-level triggers.

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL = [
    """
    CREATE FUNCTION curation_counts_dataset_created() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO curation_datasetcounts (dataset_id, samples) VALUES (NEW.id, 0)
        ON CONFLICT (dataset_id) DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER curation_counts_dataset_created AFTER INSERT ON curation_dataset
    FOR EACH ROW EXECUTE FUNCTION curation_counts_dataset_created()
    """,
    """
    CREATE FUNCTION curation_counts_samples_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE curation_datasetcounts c SET samples = c.samples + n.rows
        FROM (SELECT dataset_id, count(*) AS rows FROM added GROUP BY dataset_id) n
        WHERE c.dataset_id = n.dataset_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER curation_counts_samples_added AFTER INSERT ON curation_sample
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION curation_counts_samples_added()
    """,
    """
    CREATE FUNCTION curation_counts_samples_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE curation_datasetcounts c SET samples = c.samples - n.rows
        FROM (SELECT dataset_id, count(*) AS rows FROM removed GROUP BY dataset_id) n
        WHERE c.dataset_id = n.dataset_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER curation_counts_samples_removed AFTER DELETE ON curation_sample
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION curation_counts_samples_removed()
    """,
    """
    CREATE FUNCTION curation_counts_sample_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE curation_datasetcounts SET samples = samples - 1 WHERE dataset_id = OLD.dataset_id;
        UPDATE curation_datasetcounts SET samples = samples + 1 WHERE dataset_id = NEW.dataset_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER curation_counts_sample_moved AFTER UPDATE OF dataset_id ON curation_sample
    FOR EACH ROW WHEN (OLD.dataset_id IS DISTINCT FROM NEW.dataset_id)
    EXECUTE FUNCTION curation_counts_sample_moved()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS curation_counts_dataset_created ON curation_dataset",
    "DROP TRIGGER IF EXISTS curation_counts_samples_added ON curation_sample",
    "DROP TRIGGER IF EXISTS curation_counts_samples_removed ON curation_sample",
    "DROP TRIGGER IF EXISTS curation_counts_sample_moved ON curation_sample",
    "DROP FUNCTION IF EXISTS curation_counts_dataset_created()",
    "DROP FUNCTION IF EXISTS curation_counts_samples_added()",
    "DROP FUNCTION IF EXISTS curation_counts_samples_removed()",
    "DROP FUNCTION IF EXISTS curation_counts_sample_moved()",
]
SQLITE = [
    """
    CREATE TRIGGER curation_counts_dataset_created AFTER INSERT ON curation_dataset
    BEGIN
        INSERT OR IGNORE INTO curation_datasetcounts (dataset_id, samples) VALUES (NEW.id, 0);
    END
    """,
    """
    CREATE TRIGGER curation_counts_samples_added AFTER INSERT ON curation_sample
    BEGIN
        UPDATE curation_datasetcounts SET samples = samples + 1 WHERE dataset_id = NEW.dataset_id;
    END
    """,
    """
    CREATE TRIGGER curation_counts_samples_removed AFTER DELETE ON curation_sample
    BEGIN
        UPDATE curation_datasetcounts SET samples = samples - 1 WHERE dataset_id = OLD.dataset_id;
    END
    """,
    """
    CREATE TRIGGER curation_counts_sample_moved AFTER UPDATE OF dataset_id ON curation_sample
    WHEN OLD.dataset_id IS NOT NEW.dataset_id
    BEGIN
        UPDATE curation_datasetcounts SET samples = samples - 1 WHERE dataset_id = OLD.dataset_id;
        UPDATE curation_datasetcounts SET samples = samples + 1 WHERE dataset_id = NEW.dataset_id;
    END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS curation_counts_dataset_created",
    "DROP TRIGGER IF EXISTS curation_counts_samples_added",
    "DROP TRIGGER IF EXISTS curation_counts_samples_removed",
    "DROP TRIGGER IF EXISTS curation_counts_sample_moved",
]
BACKFILL = """
    INSERT INTO curation_datasetcounts (dataset_id, samples)
    SELECT d.id, (SELECT count(*) FROM curation_sample s WHERE s.dataset_id = d.id)
    FROM curation_dataset d
"""


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        statements = statements_by_vendor.get(vendor)
        if statements is None:
            raise RuntimeError(
                f"Sample-count triggers exist for PostgreSQL and SQLite, not {vendor}."
            )
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0009_delete_jobs"),
    ]

    operations = [
        migrations.CreateModel(
            name="DatasetCounts",
            fields=[
                (
                    "dataset",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="counts",
                        serialize=False,
                        to="curation.dataset",
                    ),
                ),
                ("samples", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(
            _run({"postgresql": [*POSTGRESQL, BACKFILL], "sqlite": [*SQLITE, BACKFILL]}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
