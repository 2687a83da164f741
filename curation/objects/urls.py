"""Page URLs of the objects: the grid of a dataset's objects and the crop of one object."""

from django.urls import URLPattern, path

from curation.objects import views, views_media

urlpatterns: list[URLPattern] = [
    path("datasets/<int:dataset_id>/objects/", views.object_grid, name="object-grid"),
    path("media/objects/<int:annotation_id>/crop/", views_media.object_crop, name="object-crop"),
]
