"""Page URLs of the preset library."""

from django.urls import URLPattern, path

from curation.presets import views

urlpatterns: list[URLPattern] = [
    path("presets/", views.preset_list, name="preset-list"),
    path("presets/import/", views.preset_import_view, name="preset-import"),
    path(
        "presets/<int:preset_id>/duplicate/",
        views.preset_duplicate_view,
        name="preset-duplicate",
    ),
    path("presets/<int:preset_id>/delete/", views.preset_delete_view, name="preset-delete"),
]
