from __future__ import annotations

from django.db import models


class EmbeddingSpaceManager(models.Manager["EmbeddingSpace"]):
    """Every space, image-level and object-level. Leaves the cached 2D projection (megabytes at
    a million points) out of every query; it loads on first access of ``space.projection``."""

    def get_queryset(self) -> models.QuerySet[EmbeddingSpace]:
        return super().get_queryset().defer("projection")


class ImageSpaceManager(EmbeddingSpaceManager):
    """Image-level spaces only (rows are sample ids): what every image-level page, run and
    export reads. Object spaces (``task`` set) are reached through ``all_spaces`` or
    ``task.embedding_spaces``."""

    def get_queryset(self) -> models.QuerySet[EmbeddingSpace]:
        return super().get_queryset().filter(task__isnull=True)


class EmbeddingSpace(models.Model):
    """A named embedding matrix of a dataset, stored as float32 ``.npy`` files (never rows).

    ``storage_key`` names two files under ``CURATION_EMBEDDINGS_ROOT/<dataset id>/``:
    ``<key>.npy`` (N x D float32) and ``<key>.ids.npy`` (N int64 ids, row-aligned).
    Read and write them only through ``curation.storage.embeddings``.

    An image-level space (``task`` empty) has sample ids as its rows; an object-level space
    belongs to a detection task and its rows are that task's annotation (box) ids. ``source``
    says how the vectors came: ``{"kind": "imported"}`` or ``{"kind": "computed", "padding",
    "min_size", "boxes"}`` (a fingerprint of the boxes they were computed from, so a changed box
    makes them stale). ``objects`` lists image-level spaces only; ``all_spaces`` every space.
    """

    dataset = models.ForeignKey(
        "curation.Dataset", on_delete=models.CASCADE, related_name="embedding_spaces"
    )
    name = models.CharField(max_length=100, default="default")
    dimension = models.PositiveIntegerField()
    count = models.PositiveIntegerField(help_text="Number of rows (samples with a vector).")
    normalized = models.BooleanField(default=True, help_text="Rows were unit-normalised.")
    storage_key = models.CharField(max_length=64, unique=True)
    task = models.ForeignKey(
        "curation.AnnotationTask",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="embedding_spaces",
        help_text="Set for object embeddings: rows are this detection task's annotation ids.",
    )
    source = models.JSONField(default=dict, blank=True, help_text="How the vectors were made.")
    projection = models.JSONField(
        null=True, blank=True, help_text="Cached 2D projection (computed in the background)."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ImageSpaceManager()
    all_spaces = EmbeddingSpaceManager()

    class Meta:
        ordering = ["dataset", "name"]
        base_manager_name = "all_spaces"
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "name"], name="embedding_space_name_unique_per_dataset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.count}x{self.dimension})"
