"""Page URLs of embeddings: the dataset's spaces and "Compute embeddings"."""

from django.urls import URLPattern, path

from curation.embeddings import views

urlpatterns: list[URLPattern] = [
    path(
        "datasets/<int:dataset_id>/embeddings/",
        views.dataset_embeddings,
        name="dataset-embeddings",
    ),
]
