from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProgressMixin:
    """Display helpers shared by long work tracked in a row (selection runs, jobs): the model
    has ``status``, ``FINAL_STATUSES``, ``progress`` (0..1), ``started_at`` and ``finished_at``."""

    status: str
    FINAL_STATUSES: tuple[str, ...]
    progress: float
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def percent(self) -> int:
        return round(max(0.0, min(1.0, self.progress)) * 100)

    @property
    def elapsed_seconds(self) -> float | None:
        """Seconds since the work started (until it finished)."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def elapsed_display(self) -> str:
        return format_seconds(self.elapsed_seconds)

    @property
    def worker_silent(self) -> bool:
        """Running, but its worker stopped beating three heartbeat intervals ago: a worker's
        recovery will fail it (pages read this; they never recover)."""
        last = self.heartbeat_at or self.started_at
        if self.status != "running" or last is None:
            return False
        age = (timezone.now() - last).total_seconds()
        return age > 3 * settings.CURATION_WORKER_HEARTBEAT_SECONDS


class SelectionRun(ProgressMixin, models.Model):
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
    requested_n = models.PositiveBigIntegerField(null=True, blank=True)
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
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def eta_seconds(self) -> float | None:
        """Remaining seconds, extrapolated from the progress so far (None when unknown)."""
        elapsed = self.elapsed_seconds
        if self.status != self.Status.RUNNING or elapsed is None or not 0 < self.progress < 1:
            return None
        return elapsed * (1 - self.progress) / self.progress

    @property
    def eta_display(self) -> str:
        return format_seconds(self.eta_seconds)


def format_seconds(seconds: float | None) -> str:
    """'4.2 s', '3 min 05 s', '1 h 02 min'; '' for None."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
