"""Admin panel for dataset management. Only staff reach it; writes go through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import Count, QuerySet
from django.http import HttpRequest

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
    WorkerHeartbeat,
)
from curation.services.datasets import dataset_delete
from curation.services.metadata import sample_metadata_recompute


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "team", "sample_count", "tag_count", "run_count", "created"]
    list_filter = ["team", "created"]
    search_fields = ["name", "description", "owner__username"]
    autocomplete_fields = ["owner", "team"]
    actions = ["recompute_builtin_metadata", "delete_with_files"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "team")
            .annotate(
                _samples=Count("samples", distinct=True),
                _tags=Count("tags", distinct=True),
                _runs=Count("selection_runs", distinct=True),
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

    @admin.action(description="Delete selected datasets with their files", permissions=["delete"])
    def delete_with_files(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        names = []
        for dataset in queryset:
            names.append(dataset.name)
            dataset_delete(dataset=dataset)
        self.message_user(request, f"Deleted {len(names)} datasets: {', '.join(names)}.")

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        dataset_delete(dataset=obj)


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ["file_name", "dataset", "width", "height", "size_bytes", "created"]
    list_filter = ["dataset"]
    search_fields = ["file_name"]
    list_select_related = ["dataset"]
    raw_id_fields = ["dataset"]
    show_full_result_count = False


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


import curation.admin_tokens  # noqa: E402,F401  (registers ApiToken; revoke = delete)
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
