"""Page URLs for the strategy builder, the selection dialog, presets and run history."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
