from __future__ import annotations

from django.conf import settings
from django.db import models


class Tag(models.Model):
    """A named set of samples of one dataset: made by hand or by a selection run.

    An objects tag (kind ``objects``) holds annotations (boxes) instead, through
    ``TagAnnotation``; an object-level selection writes one, ``linked`` to the tag of their
    images.
    """

    class Kind(models.TextChoices):
        USER = "user", "User"
        SELECTION = "selection", "Selection"
        OBJECTS = "objects", "Objects"

    dataset = models.ForeignKey("curation.Dataset", on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.USER)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True)
    samples = models.ManyToManyField(
        "curation.Sample", through="curation.TagSample", related_name="tags"
    )
    linked = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="An objects tag: the tag of the images its objects lie on.",
    )
    annotations = models.ManyToManyField(
        "curation.Annotation", through="curation.TagAnnotation", related_name="tags"
    )

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="tag_name_unique_per_dataset")
        ]

    def __str__(self) -> str:
        return self.name


class TagSample(models.Model):
    """Tag membership; bulk inserted. Indexed both ways for include/exclude filters."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="memberships")
    sample = models.ForeignKey(
        "curation.Sample", on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tag", "sample"], name="tag_sample_unique")]
        indexes = [models.Index(fields=["sample", "tag"], name="tagsample_sample_tag_idx")]

    def __str__(self) -> str:
        return f"{self.tag_id}:{self.sample_id}"


class TagAnnotation(models.Model):
    """Membership of an annotation (an object) in an objects tag; ``rank`` keeps pick order."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="object_memberships")
    annotation = models.ForeignKey(
        "curation.Annotation", on_delete=models.CASCADE, related_name="object_memberships"
    )
    rank = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tag", "annotation"], name="tag_annotation_unique")
        ]
        indexes = [
            models.Index(fields=["annotation", "tag"], name="tagannotation_ann_tag_idx"),
            models.Index(fields=["tag", "rank"], name="tagannotation_tag_rank_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tag_id}:{self.annotation_id}"
