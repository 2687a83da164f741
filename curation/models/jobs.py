from __future__ import annotations

from django.conf import settings
from django.db import models

from curation.models.runs import ProgressMixin


class Job(ProgressMixin, models.Model):
    """A durable background job (an import or a dataset deletion), tracked like a selection run.

    The row is the truth: status, progress and the outcome are written here by the worker;
    pages, the API and the websocket read it. ``staging_dir`` (below MEDIA_ROOT) holds the
    job's uploaded files and the thumbnails it wrote until they are committed; it is removed
    when the job ends, whatever the outcome.
    """

    class Kind(models.TextChoices):
        IMPORT = "import", "Import"
        DELETE = "delete", "Delete"
        SCORES = "scores", "Score metadata"  # typicality / similarity (embeddings.score_metadata)
        EMBED = "embed", "Compute embeddings"  # an ONNX model over the images (embeddings.compute)

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.IMPORT)
    dataset = models.ForeignKey(
        "curation.Dataset",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        help_text="Empty once the dataset is deleted (e.g. a failed import that created it).",
    )
    dataset_name = models.CharField(max_length=200, blank=True)
    creates_dataset = models.BooleanField(
        default=False, help_text="The dataset was created for this job: removed if it fails."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=64, blank=True)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    progress = models.FloatField(default=0.0, help_text="0..1")
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="Arguments of the import.")
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True)
    worker_id = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    staging_dir = models.CharField(
        max_length=300, blank=True, help_text="Folder below MEDIA_ROOT removed when the job ends."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["dataset", "-created"], name="job_dataset_created_idx"),
            models.Index(fields=["status"], name="job_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.kind}, {self.status})"
