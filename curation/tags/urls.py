"""Page URLs of tags: the list, a tag, delete, export."""

from django.urls import URLPattern, path

from curation.tags import views

urlpatterns: list[URLPattern] = [
    path("datasets/<int:dataset_id>/tags/", views.tag_list, name="tag-list"),
    path("datasets/<int:dataset_id>/tags/<int:tag_id>/", views.tag_detail, name="tag-detail"),
    path(
        "datasets/<int:dataset_id>/tags/<int:tag_id>/delete/",
        views.tag_delete_view,
        name="tag-delete",
    ),
    path(
        "datasets/<int:dataset_id>/tags/<int:tag_id>/export/",
        views.tag_export_view,
        name="tag-export",
    ),
]
