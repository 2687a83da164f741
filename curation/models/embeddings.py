from __future__ import annotations

from django.db import models


class EmbeddingSpaceManager(models.Manager["EmbeddingSpace"]):
    """Leaves the cached 2D projection (megabytes at a million points) out of every query; it
    loads on first access of ``space.projection``."""

    def get_queryset(self) -> models.QuerySet[EmbeddingSpace]:
        return super().get_queryset().defer("projection")


class EmbeddingSpace(models.Model):
    """A named embedding matrix of a dataset, stored as float32 ``.npy`` files (never rows).

    ``storage_key`` names two files under ``CURATION_EMBEDDINGS_ROOT/<dataset id>/``:
    ``<key>.npy`` (N x D float32) and ``<key>.ids.npy`` (N int64 sample ids, row-aligned).
    Read and write them only through ``curation.storage.embeddings``.
    """

    dataset = models.ForeignKey(
        "curation.Dataset", on_delete=models.CASCADE, related_name="embedding_spaces"
    )
    name = models.CharField(max_length=100, default="default")
    dimension = models.PositiveIntegerField()
    count = models.PositiveIntegerField(help_text="Number of rows (samples with a vector).")
    normalized = models.BooleanField(default=True, help_text="Rows were unit-normalised.")
    storage_key = models.CharField(max_length=64, unique=True)
    projection = models.JSONField(
        null=True, blank=True, help_text="Cached 2D projection (computed in the background)."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = EmbeddingSpaceManager()

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "name"], name="embedding_space_name_unique_per_dataset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.count}x{self.dimension})"
