"""Page URLs of datasets: the list, create, import, delete."""

from django.urls import URLPattern, path

from curation.datasets import views

urlpatterns: list[URLPattern] = [
    path("", views.dataset_list, name="dataset-list"),
    path("datasets/new/", views.dataset_create_view, name="dataset-create"),
    path("datasets/<int:dataset_id>/delete/", views.dataset_delete_view, name="dataset-delete"),
    path("datasets/<int:dataset_id>/import/", views.dataset_import_view, name="dataset-import"),
]
