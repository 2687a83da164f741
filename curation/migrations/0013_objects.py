"""Object-level selection: object embedding spaces (rows are annotation ids of a detection
task), objects tags (annotations through ``TagAnnotation``, linked to the tag of their images)."""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("curation", "0012_scale_metadata_index")]

    operations = [
        migrations.AlterModelOptions(
            name="embeddingspace",
            options={"base_manager_name": "all_spaces", "ordering": ["dataset", "name"]},
        ),
        migrations.AlterModelManagers(
            name="embeddingspace",
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("all_spaces", django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddField(
            model_name="embeddingspace",
            name="source",
            field=models.JSONField(
                blank=True, default=dict, help_text="How the vectors were made."
            ),
        ),
        migrations.AddField(
            model_name="embeddingspace",
            name="task",
            field=models.ForeignKey(
                blank=True,
                help_text="Set for object embeddings: rows are this detection task's annotation ids.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="embedding_spaces",
                to="curation.annotationtask",
            ),
        ),
        migrations.AddField(
            model_name="tag",
            name="linked",
            field=models.ForeignKey(
                blank=True,
                help_text="An objects tag: the tag of the images its objects lie on.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="curation.tag",
            ),
        ),
        migrations.AlterField(
            model_name="tag",
            name="kind",
            field=models.CharField(
                choices=[("user", "User"), ("selection", "Selection"), ("objects", "Objects")],
                default="user",
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="TagAnnotation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rank", models.PositiveIntegerField(default=0)),
                (
                    "annotation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="object_memberships",
                        to="curation.annotation",
                    ),
                ),
                (
                    "tag",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="object_memberships",
                        to="curation.tag",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="tag",
            name="annotations",
            field=models.ManyToManyField(
                related_name="tags", through="curation.TagAnnotation", to="curation.annotation"
            ),
        ),
        migrations.AddIndex(
            model_name="tagannotation",
            index=models.Index(fields=["annotation", "tag"], name="tagannotation_ann_tag_idx"),
        ),
        migrations.AddIndex(
            model_name="tagannotation",
            index=models.Index(fields=["tag", "rank"], name="tagannotation_tag_rank_idx"),
        ),
        migrations.AddConstraint(
            model_name="tagannotation",
            constraint=models.UniqueConstraint(
                fields=("tag", "annotation"), name="tag_annotation_unique"
            ),
        ),
    ]
