"""The dataset's "Compute embeddings" form: a registered model (by name), the space, a batch."""

from __future__ import annotations

from typing import Any

from django import forms

from curation.embeddings.compute import DEFAULT_BATCH, MAX_BATCH
from curation.models import EmbeddingModel


class ModelChoice(forms.ModelChoiceField):
    """A registered model by name, shown with its dimension and whether it searches text."""

    def label_from_instance(self, obj: Any) -> str:
        text = ", text search" if obj.has_text else ""
        return f"{obj.name} ({obj.dimension or '?'}-d{text})"


class ComputeEmbeddingsForm(forms.Form):
    model = ModelChoice(
        queryset=EmbeddingModel.objects.none(),
        to_field_name="name",
        empty_label=None,
        help_text="registered by an admin",
    )
    name = forms.RegexField(
        regex=r"^[A-Za-z0-9_.-]{1,100}$",
        max_length=100,
        label="Space name",
        help_text="an existing space of that name is replaced",
        error_messages={"invalid": "Use 1 to 100 letters, digits, '_', '-' or '.'."},
    )
    batch_size = forms.IntegerField(
        min_value=1, max_value=MAX_BATCH, initial=DEFAULT_BATCH, help_text="images per batch"
    )

    def __init__(self, *args: Any, models: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["model"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = models
