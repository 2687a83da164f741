"""Page URLs of selection runs: the dialog, defaults, progress, history and results."""

from django.urls import URLPattern, path

from curation.runs import views, views_defaults, views_dialog, views_history, views_result

urlpatterns: list[URLPattern] = [
    path(
        "datasets/<int:dataset_id>/select/", views_dialog.selection_dialog, name="selection-dialog"
    ),
    path(
        "datasets/<int:dataset_id>/selection-defaults/",
        views_defaults.dataset_selection_defaults,
        name="dataset-selection-defaults",
    ),
    path("datasets/<int:dataset_id>/runs/", views_history.run_history, name="run-history"),
    path("runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/rerun/", views.run_rerun, name="run-rerun"),
    path("runs/<int:run_id>/results/", views_result.run_results_view, name="run-results"),
    path(
        "runs/<int:run_id>/results/objects/",
        views_result.run_result_objects,
        name="run-result-objects",
    ),
    path("runs/<int:run_id>/keep-first/", views_result.run_keep_first, name="run-keep-first"),
    path("runs/<int:run_id>/export/", views_result.run_export, name="run-export"),
]
