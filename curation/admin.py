"""Admin panel for dataset management. Only staff reach it; writes go through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from curation.datasets.delete import dataset_delete_start
from curation.datasets.selectors import rows_per_dataset, stored_sample_count
from curation.imports.metadata_recompute import sample_metadata_recompute
from curation.jobs.services import JobError
from curation.models import (
    Annotation,
    AnnotationTask,
    Dataset,
    EmbeddingSpace,
    ImportRoot,
    Sample,
    Score,
    SelectionRun,
    StrategyPreset,
    Tag,
    Video,
    WorkerHeartbeat,
)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "team", "sample_count", "tag_count", "run_count", "created"]
    list_filter = ["team", "created"]
    search_fields = ["name", "description", "owner__username"]
    autocomplete_fields = ["owner", "team"]
    actions = ["recompute_builtin_metadata", "delete_with_files"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        # Samples: the trigger-maintained DatasetCounts row; tags and runs (a few rows each):
        # one COUNT subquery per dataset, never a join of samples x tags x runs.
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "team")
            .annotate(
                _samples=stored_sample_count(),
                _tags=rows_per_dataset(Tag),
                _runs=rows_per_dataset(SelectionRun),
            )
        )

    @admin.display(description="samples", ordering="_samples")
    def sample_count(self, obj: Any) -> int:
        return int(obj._samples)

    @admin.display(description="tags", ordering="_tags")
    def tag_count(self, obj: Any) -> int:
        return int(obj._tags)

    @admin.display(description="runs", ordering="_runs")
    def run_count(self, obj: Any) -> int:
        return int(obj._runs)

    def get_actions(
        self, request: HttpRequest, action_location: Any = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # replaced by delete_with_files
        return actions

    @admin.action(description="Recompute built-in metadata from the image files")
    def recompute_builtin_metadata(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in queryset:
            samples = Sample.objects.filter(dataset=dataset).select_related("dataset")
            updated, failures = sample_metadata_recompute(samples=samples.iterator())
            self.message_user(request, f"{dataset.name}: recomputed {updated} samples.")
            if failures:
                shown = "; ".join(failures[:5])
                self.message_user(
                    request,
                    f"{dataset.name}: {len(failures)} images could not be read ({shown}).",
                    level=messages.WARNING,
                )

    # Deleting runs as a background job (``dataset_delete``); the admin starts it and links it.

    @admin.action(description="Delete selected datasets with their files", permissions=["delete"])
    def delete_with_files(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        started = []
        for dataset in queryset.order_by("name"):
            try:
                started.append(dataset_delete_start(dataset=dataset, user=request.user))
            except JobError as exc:  # deleted meanwhile
                self.message_user(request, str(exc), level=messages.WARNING)
        links = format_html_join(
            ", ",
            '{} (<a href="{}">job {}</a>)',
            ((job.dataset_name, reverse("job-detail", args=[job.pk]), job.pk) for job in started),
        )
        self.message_user(
            request, format_html("Deleting {} datasets in the background: {}.", len(started), links)
        )

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        request._delete_job = dataset_delete_start(dataset=obj, user=request.user)  # type: ignore[attr-defined]

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> Any:
        job = getattr(request, "_delete_job", None)
        if job is None:
            return super().response_delete(request, obj_display, obj_id)
        link = reverse("job-detail", args=[job.pk])
        self.message_user(
            request,
            format_html(
                'Deleting dataset {} in the background: <a href="{}">job {}</a>.',
                job.dataset_name,
                link,
                job.pk,
            ),
        )
        return HttpResponseRedirect(reverse("admin:curation_dataset_changelist"))

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """A summary instead of every sample (the confirmation page stays fast at 1M)."""
        lines = [
            f"Dataset {d.name}: {d.samples.count()} samples, {d.tags.count()} tags, "
            f"{d.selection_runs.count()} selection runs, its embeddings and thumbnails "
            "(deleted by a background job)"
            for d in objs
        ]
        return lines, {"datasets": len(lines)}, set(), []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.deleting:
            return False  # being deleted: read-only (it can still be deleted again)
        return super().has_change_permission(request, obj)


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ["file_name", "dataset", "width", "height", "size_bytes", "created"]
    list_filter = ["dataset"]
    search_fields = ["file_name"]
    list_select_related = ["dataset"]
    raw_id_fields = ["dataset"]
    show_full_result_count = False


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    """Read-only: a video's rows and frames are written by imports only."""

    list_display = ["name", "dataset", "fps", "duration_s", "frame_count", "frame_step"]
    list_filter = ["dataset"]
    search_fields = ["name"]
    list_select_related = ["dataset"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "kind", "sample_count", "created_by", "created"]
    list_filter = ["kind", "dataset"]
    search_fields = ["name", "dataset__name"]
    raw_id_fields = ["dataset", "created_by"]
    exclude = ["samples"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        qs = super().get_queryset(request).select_related("dataset", "created_by")
        return qs.annotate(_samples=Count("memberships"))

    @admin.display(description="samples", ordering="_samples")
    def sample_count(self, obj: Any) -> int:
        return int(obj._samples)


@admin.register(EmbeddingSpace)
class EmbeddingSpaceAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "count", "dimension", "normalized", "created"]
    list_filter = ["normalized", "dataset"]
    search_fields = ["name", "dataset__name"]
    readonly_fields = ["dimension", "count", "normalized", "storage_key", "created", "updated"]
    exclude = ["projection"]
    list_select_related = ["dataset"]


@admin.register(AnnotationTask)
class AnnotationTaskAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "kind", "annotation_count"]
    list_filter = ["kind", "dataset"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AnnotationTask]:
        qs = super().get_queryset(request).select_related("dataset")
        return qs.annotate(_annotations=Count("annotations"))

    @admin.display(description="annotations", ordering="_annotations")
    def annotation_count(self, obj: Any) -> int:
        return int(obj._annotations)


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["label", "task", "sample", "score"]
    list_filter = ["task__name"]
    search_fields = ["label", "sample__file_name"]
    raw_id_fields = ["sample", "task"]
    list_select_related = ["task", "sample"]
    show_full_result_count = False


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["sample", "task", "name", "value"]
    list_filter = ["task", "name"]
    search_fields = ["sample__file_name", "task", "name"]
    raw_id_fields = ["sample"]
    list_select_related = ["sample"]
    show_full_result_count = False


@admin.register(StrategyPreset)
class StrategyPresetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "visibility", "team", "last_used_at", "updated"]
    list_filter = ["visibility", "team"]
    search_fields = ["name", "description", "owner__username"]
    raw_id_fields = ["owner", "last_used_by"]


@admin.register(SelectionRun)
class SelectionRunAdmin(admin.ModelAdmin):
    """Run history is read-only: runs are started from the app, the API or the CLI."""

    list_display = [
        "id",
        "dataset",
        "result_tag_name",
        "status",
        "selected_count",
        "requested_n",
        "created_by",
        "created",
        "duration",
    ]
    list_filter = ["status", "dataset"]
    search_fields = ["result_tag_name", "dataset__name", "created_by__username"]
    list_select_related = ["dataset", "created_by"]
    exclude = ["pick_order", "explanation"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="duration (s)")
    def duration(self, obj: SelectionRun) -> str:
        seconds = obj.duration_seconds
        return "" if seconds is None else f"{seconds:.1f}"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "last_seen"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


import curation.tokens.admin  # noqa: E402,F401  (registers ApiToken; revoke = delete)
from curation.embeddings import admin as embeddings_admin  # noqa: E402,F401  (EmbeddingModel)
from curation.models import Job  # noqa: E402


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Background jobs (imports): read-only; cancel from the job page or the API."""

    list_display = ["id", "kind", "dataset_name", "status", "stage", "percent", "created_by"]
    list_filter = ["kind", "status"]
    search_fields = ["dataset_name", "created_by__username"]
    list_select_related = ["created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ImportRoot)
class ImportRootAdmin(admin.ModelAdmin):
    """Server folders web and API imports may read; the model checks the path is an absolute,
    existing folder. No group = staff only."""

    list_display = ["name", "path", "group", "created"]
    list_filter = ["group"]
    search_fields = ["name", "path"]
    list_select_related = ["group"]
