from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """A named browser filter (conditions + ``text=`` / ``similar_to=`` order) of a dataset,
    private to its owner or shared with everyone who may see the dataset (its team)."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Only me"
        TEAM = "team", "The dataset's team"

    dataset = models.ForeignKey(
        "curation.Dataset", on_delete=models.CASCADE, related_name="saved_views"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    query = models.TextField(help_text="The filter as the browser's canonical query string.")
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "owner", "name"], name="saved_view_name_unique_per_owner"
            )
        ]

    def __str__(self) -> str:
        return self.name
