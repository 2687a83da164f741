from __future__ import annotations

from django.db import models


class Sample(models.Model):
    """One image (or one frame of a video) of a dataset; ``metadata`` holds custom and
    built-in (``lightly.*``) keys."""

    dataset = models.ForeignKey(
        "curation.Dataset", on_delete=models.CASCADE, related_name="samples"
    )
    file_name = models.CharField(max_length=1024, help_text="Path relative to the image root.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    thumbnail = models.CharField(max_length=1024, blank=True, help_text="Path under MEDIA_ROOT.")
    metadata = models.JSONField(default=dict, blank=True)
    video = models.ForeignKey(
        "curation.Video",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="frames",
        help_text="The video this sample is a frame of; empty for images.",
    )
    frame_index = models.PositiveIntegerField(
        null=True, blank=True, help_text="Index of the frame in its video's decoded stream."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "file_name"], name="sample_file_name_unique_per_dataset"
            )
        ]
        indexes = [
            models.Index(fields=["dataset", "width", "height"], name="sample_size_idx"),
            models.Index(fields=["video", "frame_index"], name="sample_video_frame_idx"),
        ]

    def __str__(self) -> str:
        return self.file_name
