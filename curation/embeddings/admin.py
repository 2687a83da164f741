"""Admin for ONNX embedding models: staff register a model's server files once; users then pick
it by name on the dataset's embeddings page, the API and the client. Saving checks the files
(``EmbeddingModel.clean``: absolute, existing, the models load and follow the contract) and
records the dimension. No group = every signed-in user may use it."""

from __future__ import annotations

from django.contrib import admin

from curation.models import EmbeddingModel


@admin.register(EmbeddingModel)
class EmbeddingModelAdmin(admin.ModelAdmin):
    list_display = ["name", "dimension", "image_model", "text_model", "group", "created"]
    list_filter = ["group"]
    search_fields = ["name", "image_model", "text_model"]
    list_select_related = ["group"]
    readonly_fields = ["dimension"]
