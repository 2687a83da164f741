"""The JSON API (DRF) under /api/; the OpenAPI schema at /api/schema/, docs at /api/docs/."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from curation.api import (
    throttling,  # noqa: F401  (registers the throttle-rate system check)
    views_docs,
)
from curation.api.errors import api_not_found
from curation.browse import api as views_samples
from curation.browse import api_count as views_count
from curation.browse import api_saved as views_saved
from curation.datasets import api as views_datasets
from curation.embeddings import api as views_embeddings
from curation.embeddings import api_compute as views_compute
from curation.embeddings import api_metadata as views_scores
from curation.imports import api as views_uploads
from curation.imports import api_images as views_images
from curation.imports import api_objects as views_objects
from curation.jobs import api as views_jobs
from curation.presets import api as views_presets
from curation.runs import api as views_runs
from curation.runs import api_defaults as views_defaults
from curation.runs import api_keep_first as views_keep_first
from curation.tags import api as views_tags
from curation.tags import api_export as views_export
from curation.tokens import api as views_tokens
from curation.videos import api as views_videos

D = "datasets/<int:dataset_id>/"
T = f"{D}tags/<int:tag_id>/"
U = f"{D}uploads/<str:key>/"
M = f"{D}metadata/"
R = "runs/<int:run_id>/"

urlpatterns = [
    path("schema/", views_docs.schema_view, name="api-schema"),
    path("docs/", views_docs.swagger_view, name="api-docs"),
    path("redoc/", views_docs.redoc_view, name="api-redoc"),
    # datasets and samples
    path("datasets/", views_datasets.DatasetListView.as_view(), name="api-dataset-list"),
    path(D, views_datasets.DatasetDetailView.as_view(), name="api-dataset-detail"),
    path(f"{D}samples/", views_samples.SampleListView.as_view(), name="api-sample-list"),
    path(f"{D}samples/count/", views_count.SampleCountView.as_view(), name="api-sample-count"),
    path(f"{D}views/", views_saved.SavedViewListView.as_view(), name="api-view-list"),
    path(
        f"{D}views/<int:view_id>/",
        views_saved.SavedViewDetailView.as_view(),
        name="api-view-detail",
    ),
    path(
        f"{D}samples/<int:sample_id>/",
        views_samples.SampleDetailView.as_view(),
        name="api-sample-detail",
    ),
    # videos
    path(f"{D}videos/", views_videos.VideoListView.as_view(), name="api-video-list"),
    path(
        f"{D}videos/<int:video_id>/",
        views_videos.VideoDetailView.as_view(),
        name="api-video-detail",
    ),
    # tags
    path(f"{D}tags/", views_tags.TagListView.as_view(), name="api-tag-list"),
    path(f"{D}tags/combine/", views_tags.TagCombineView.as_view(), name="api-tag-combine"),
    path(T, views_tags.TagDetailView.as_view(), name="api-tag-detail"),
    path(f"{T}add/", views_tags.TagAddView.as_view(), name="api-tag-add"),
    path(f"{T}remove/", views_tags.TagRemoveView.as_view(), name="api-tag-remove"),
    path(f"{T}export/", views_export.TagExportView.as_view(), name="api-tag-export"),
    # embeddings and uploads
    path(
        f"{D}embeddings/", views_embeddings.EmbeddingListView.as_view(), name="api-embedding-list"
    ),
    path(
        f"{D}embeddings/compute/",
        views_compute.ComputeEmbeddingsView.as_view(),
        name="api-embeddings-compute",
    ),
    path(
        "embedding-models/",
        views_compute.EmbeddingModelListView.as_view(),
        name="api-embedding-model-list",
    ),
    path(
        f"{D}embeddings/<int:space_id>/",
        views_embeddings.EmbeddingDetailView.as_view(),
        name="api-embedding-detail",
    ),
    path(f"{D}metadata/", views_uploads.MetadataUploadView.as_view(), name="api-upload-metadata"),
    path(
        f"{D}annotations/",
        views_uploads.AnnotationUploadView.as_view(),
        name="api-upload-annotations",
    ),
    path(
        f"{D}predictions/",
        views_uploads.PredictionUploadView.as_view(),
        name="api-upload-predictions",
    ),
    path(f"{D}import/", views_uploads.ServerImportView.as_view(), name="api-server-import"),
    path(
        f"{D}object-embeddings/",
        views_objects.ObjectEmbeddingsUploadView.as_view(),
        name="api-upload-object-embeddings",
    ),
    path(f"{D}import/check/", views_images.ImportPathCheckView.as_view(), name="api-import-check"),
    path(f"{D}uploads/", views_images.UploadSessionListView.as_view(), name="api-upload-sessions"),
    path(f"{U}", views_images.UploadSessionDetailView.as_view(), name="api-upload-session"),
    path(f"{U}files/", views_images.UploadBatchView.as_view(), name="api-upload-batch"),
    path(f"{U}commit/", views_images.UploadCommitView.as_view(), name="api-upload-commit"),
    path(f"{M}typicality/", views_scores.TypicalityMetadataView.as_view(), name="api-typicality"),
    path(f"{M}similarity/", views_scores.SimilarityMetadataView.as_view(), name="api-similarity"),
    # presets
    path("presets/", views_presets.PresetListView.as_view(), name="api-preset-list"),
    path("presets/import/", views_presets.PresetImportView.as_view(), name="api-preset-import"),
    path(
        "presets/<int:preset_id>/",
        views_presets.PresetDetailView.as_view(),
        name="api-preset-detail",
    ),
    path(
        "presets/<int:preset_id>/duplicate/",
        views_presets.PresetDuplicateView.as_view(),
        name="api-preset-duplicate",
    ),
    # selection runs
    path(f"{D}runs/", views_runs.DatasetRunListView.as_view(), name="api-run-list"),
    path(
        f"{D}selection-defaults/",
        views_defaults.SelectionDefaultsView.as_view(),
        name="api-selection-defaults",
    ),
    path("runs/<int:run_id>/", views_runs.RunDetailView.as_view(), name="api-run-detail"),
    path("runs/<int:run_id>/cancel/", views_runs.RunCancelView.as_view(), name="api-run-cancel"),
    path("runs/<int:run_id>/rerun/", views_runs.RunRerunView.as_view(), name="api-run-rerun"),
    path("runs/<int:run_id>/result/", views_runs.RunResultView.as_view(), name="api-run-result"),
    path(f"{R}keep-first/", views_keep_first.RunKeepFirstView.as_view(), name="api-keep-first"),
    # background jobs (imports)
    path("jobs/<int:job_id>/", views_jobs.JobDetailView.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/cancel/", views_jobs.JobCancelView.as_view(), name="api-job-cancel"),
    # tokens
    path("tokens/", views_tokens.TokenListView.as_view(), name="api-token-list"),
    path("tokens/<int:token_id>/", views_tokens.TokenDetailView.as_view(), name="api-token-detail"),
    re_path(r"^.*$", csrf_exempt(api_not_found)),  # a JSON 404 for any method, never a CSRF 403
]
