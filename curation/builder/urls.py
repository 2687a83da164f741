"""Page URLs of the strategy builder (for a dataset, and editing a preset)."""

from django.urls import URLPattern, path

from curation.builder import views

urlpatterns: list[URLPattern] = [
    path("datasets/<int:dataset_id>/builder/", views.builder, name="builder"),
    path("presets/<int:preset_id>/edit/", views.preset_edit, name="preset-edit"),
]
