from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class StrategyPreset(models.Model):
    """A named LightlyOne-Worker-compatible selection config in the shared preset library."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private (only me)"
        TEAM = "team", "My team"
        PUBLIC = "public", "Everyone"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presets"
    )
    team = models.ForeignKey(Group, on_delete=models.SET_NULL, null=True, blank=True)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    config = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="preset_name_unique_per_owner")
        ]

    def __str__(self) -> str:
        return self.name
