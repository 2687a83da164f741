"""Page URLs for the strategy builder, the selection dialog, presets, run history and results."""

from django.urls import path

from curation.views import builder, presets, run_history, run_result, selection_dialog

urlpatterns = [
    path("datasets/<int:dataset_id>/builder/", builder.builder, name="builder"),
    path(
        "datasets/<int:dataset_id>/select/",
        selection_dialog.selection_dialog,
        name="selection-dialog",
    ),
    path("datasets/<int:dataset_id>/runs/", run_history.run_history, name="run-history"),
    path("presets/", presets.preset_list, name="preset-list"),
    path("presets/import/", presets.preset_import_view, name="preset-import"),
    path("presets/<int:preset_id>/edit/", builder.preset_edit, name="preset-edit"),
    path(
        "presets/<int:preset_id>/duplicate/",
        presets.preset_duplicate_view,
        name="preset-duplicate",
    ),
    path("presets/<int:preset_id>/delete/", presets.preset_delete_view, name="preset-delete"),
    path("runs/<int:run_id>/results/", run_result.run_results_view, name="run-results"),
    path("runs/<int:run_id>/keep-first/", run_result.run_keep_first, name="run-keep-first"),
    path("runs/<int:run_id>/export/", run_result.run_export, name="run-export"),
]
