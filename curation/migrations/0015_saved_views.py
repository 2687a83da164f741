"""Saved views: a named browser filter of a dataset, private or shared with its team."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0014_embedding_models"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SavedView",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),  # noqa: E501
                ("name", models.CharField(max_length=100)),
                ("query", models.TextField(help_text="The filter as the browser's canonical query string.")),  # noqa: E501
                ("visibility", models.CharField(choices=[("private", "Only me"), ("team", "The dataset's team")], default="private", max_length=16)),  # noqa: E501
                ("created", models.DateTimeField(auto_now_add=True)),
                ("updated", models.DateTimeField(auto_now=True)),
                ("dataset", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="saved_views", to="curation.dataset")),  # noqa: E501
                ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="saved_views", to=settings.AUTH_USER_MODEL)),  # noqa: E501
            ],
            options={
                "ordering": ["name", "pk"],
                "constraints": [models.UniqueConstraint(fields=("dataset", "owner", "name"), name="saved_view_name_unique_per_owner")],  # noqa: E501
            },
        ),
    ]
