from __future__ import annotations

from django.db import models


class Video(models.Model):
    """One video file of a dataset. Its decoded frames are samples (``Sample.video`` and
    ``Sample.frame_index``), written once at import as image files under the media storage
    (``frames/dataset-<id>/``); ``name`` is the video's path relative to the import folder."""

    dataset = models.ForeignKey("curation.Dataset", on_delete=models.CASCADE, related_name="videos")
    name = models.CharField(max_length=1024, help_text="Path relative to the import folder.")
    fps = models.FloatField(help_text="Average frames per second of the video stream.")
    duration_s = models.FloatField(help_text="Duration of the video stream in seconds.")
    frame_count = models.PositiveIntegerField(help_text="Frames decoded from the video.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.BigIntegerField(help_text="Size of the video file.")
    codec = models.CharField(max_length=64, blank=True)
    frame_step = models.PositiveIntegerField(
        default=1, help_text="Every k-th decoded frame was kept as a sample."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "name"], name="video_name_unique_per_dataset"
            )
        ]

    def __str__(self) -> str:
        return self.name
