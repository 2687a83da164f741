from __future__ import annotations

from django.conf import settings
from django.db import models


class SelectionRun(models.Model):
    """One execution of a selection config on a dataset's candidates; the result is a tag."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    dataset = models.ForeignKey(
        "curation.Dataset", on_delete=models.CASCADE, related_name="selection_runs"
    )
    preset = models.ForeignKey(
        "curation.StrategyPreset", on_delete=models.SET_NULL, null=True, blank=True
    )
    config = models.JSONField(help_text="Snapshot of the selection config.")
    candidate_filter = models.JSONField(
        default=dict, blank=True, help_text="Snapshot of the candidate filter."
    )
    options = models.JSONField(default=dict, blank=True, help_text="Mask / pre-selected tags.")
    candidate_count = models.PositiveIntegerField(null=True, blank=True)
    requested_n = models.PositiveIntegerField(null=True, blank=True)
    selected_count = models.PositiveIntegerField(null=True, blank=True)
    result_tag_name = models.CharField(max_length=200)
    result_tag = models.ForeignKey(
        "curation.Tag", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0..1")
    picks_done = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="Notes such as 'stopped by minimum distance'.")
    error = models.TextField(blank=True)
    stopped_by = models.CharField(max_length=32, blank=True)
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True)
    worker_id = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    pick_order = models.JSONField(
        default=list, blank=True, help_text="Sample ids in pick order, pre-selected first."
    )
    explanation = models.JSONField(
        default=dict, blank=True, help_text="Per-pick gain of each strategy."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["dataset", "-created"], name="run_dataset_created_idx")]

    def __str__(self) -> str:
        return f"Run {self.pk} → {self.result_tag_name} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
