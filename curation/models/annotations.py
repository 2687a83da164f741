from __future__ import annotations

from django.db import models


class AnnotationTask(models.Model):
    """Ground truth or one prediction task of a dataset, with its ordered category names."""

    GROUND_TRUTH = "ground_truth"

    class Kind(models.TextChoices):
        CLASSIFICATION = "classification", "Classification"
        DETECTION = "detection", "Object detection"

    dataset = models.ForeignKey(
        "curation.Dataset", on_delete=models.CASCADE, related_name="annotation_tasks"
    )
    name = models.CharField(max_length=200, help_text="'ground_truth' or a prediction task name.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    categories = models.JSONField(
        default=list, blank=True, help_text="Category names; the index is the category id."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "name"], name="annotation_task_unique_per_dataset"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_prediction(self) -> bool:
        return self.name != self.GROUND_TRUTH


class Annotation(models.Model):
    """A classification label or a detection box (x, y, width, height in pixels) of a sample."""

    sample = models.ForeignKey(
        "curation.Sample", on_delete=models.CASCADE, related_name="annotations"
    )
    task = models.ForeignKey(AnnotationTask, on_delete=models.CASCADE, related_name="annotations")
    label = models.CharField(max_length=200)
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    w = models.FloatField(null=True, blank=True)
    h = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    probabilities = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["task", "label"], name="annotation_task_label_idx"),
            models.Index(fields=["sample", "task"], name="annotation_sample_task_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        if self.x is None or self.y is None or self.w is None or self.h is None:
            return None
        return (self.x, self.y, self.w, self.h)


class Score(models.Model):
    """A per-sample number of a task, e.g. an active-learning ``uncertainty_entropy``."""

    sample = models.ForeignKey("curation.Sample", on_delete=models.CASCADE, related_name="scores")
    task = models.CharField(max_length=200)
    name = models.CharField(max_length=100)
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sample", "task", "name"], name="score_unique")
        ]
        indexes = [models.Index(fields=["task", "name"], name="score_task_name_idx")]

    def __str__(self) -> str:
        return f"{self.task}.{self.name}={self.value:.4g}"
