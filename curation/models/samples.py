from __future__ import annotations

from django.db import models


class Sample(models.Model):
    """One image of a dataset; ``metadata`` holds custom and built-in (``lightly.*``) keys."""

    dataset = models.ForeignKey(
        "curation.Dataset", on_delete=models.CASCADE, related_name="samples"
    )
    file_name = models.CharField(max_length=1024, help_text="Path relative to the image root.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    thumbnail = models.CharField(max_length=1024, blank=True, help_text="Path under MEDIA_ROOT.")
    metadata = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "file_name"], name="sample_file_name_unique_per_dataset"
            )
        ]
        indexes = [models.Index(fields=["dataset", "width", "height"], name="sample_size_idx")]

    def __str__(self) -> str:
        return self.file_name
