"""Page URLs for datasets, the sample browser, tags, images and the embedding map."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
