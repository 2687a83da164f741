# Filled in by hand: tag memberships get their own data version (issue 16, facets at 1M).
#
# Migration 0017's triggers bump curation_datasetcounts.version for every statement that writes
# samples, annotations or tag memberships. Tagging is the most frequent write while curating, and
# most stored results (facet panels, the facet index, counts of filters without tags) do not
# depend on tag memberships, so this migration makes the tag-membership triggers bump a separate
# ``tag_version`` instead. A result that reads tag memberships is stored under both versions
# (curation.browse.filter_cache); one that does not stays valid while the user tags samples.

from django.db import migrations, models

TAGS = (
    "SELECT t.dataset_id FROM curation_tag t WHERE t.id IN (SELECT DISTINCT tag_id FROM changed)"
)
EVENTS = ("inserted", "deleted", "updated")


def _function(event: str, column: str) -> str:
    which = TAGS
    if event == "updated":  # a membership moved to another tag: both sides
        which = f"{TAGS} UNION {TAGS.replace('changed', 'changed_old')}"
    return f"""
        CREATE OR REPLACE FUNCTION curation_version_tagsample_{event}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE curation_datasetcounts SET {column} = COALESCE({column}, 0) + 1
            WHERE dataset_id IN ({which});
            RETURN NULL;
        END $$
    """  # noqa: S608 (table and column names from this file)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for event in EVENTS:
        schema_editor.execute(_function(event, "tag_version"))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for event in EVENTS:
        schema_editor.execute(_function(event, "version"))


class Migration(migrations.Migration):
    dependencies = [("curation", "0017_scale_counts")]

    operations = [
        migrations.AddField(
            model_name="datasetcounts",
            name="tag_version",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
