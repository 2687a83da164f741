"""ONNX embedding models registered by staff (``EmbeddingModel``) and the ``embed`` job kind."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("curation", "0013_objects"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(
                choices=[
                    ("import", "Import"),
                    ("delete", "Delete"),
                    ("scores", "Score metadata"),
                    ("embed", "Compute embeddings"),
                ],
                default="import",
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="EmbeddingModel",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="What users pick on the dataset page and the API.",
                        max_length=100,
                        unique=True,
                    ),
                ),
                ("description", models.CharField(blank=True, max_length=300)),
                (
                    "image_model",
                    models.CharField(
                        help_text="Absolute path of the image encoder (.onnx) on the server.",
                        max_length=1024,
                    ),
                ),
                (
                    "text_model",
                    models.CharField(
                        blank=True,
                        help_text="Optional text encoder (.onnx) for text search.",
                        max_length=1024,
                    ),
                ),
                (
                    "tokenizer",
                    models.CharField(
                        blank=True, help_text="The text encoder's tokenizer.json.", max_length=1024
                    ),
                ),
                ("dimension", models.PositiveIntegerField(blank=True, editable=False, null=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "group",
                    models.ForeignKey(
                        blank=True,
                        help_text="Only members of this team (and staff) may use it; "
                        "empty = every user.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="embedding_models",
                        to="auth.group",
                    ),
                ),
            ],
            options={"ordering": ["name"]},
        ),
    ]
