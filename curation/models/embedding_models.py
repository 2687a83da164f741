"""ONNX embedding models registered by staff in the admin and used by name.

A row names server files (absolute paths, checked when saved: they exist, and the models load
and follow the contract of ``curation.embeddings.onnx_models``); users only ever choose a row
by name, never type a path. ``group`` limits who may use it (its members and staff); a row
without a group is open to every signed-in user. ``dimension`` is measured when the row is
checked.
"""

from __future__ import annotations

import os

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models

from curation.embeddings.onnx_models import ModelError, onnx_models_load


class EmbeddingModel(models.Model):
    name = models.CharField(
        max_length=100, unique=True, help_text="What users pick on the dataset page and the API."
    )
    description = models.CharField(max_length=300, blank=True)
    image_model = models.CharField(
        max_length=1024, help_text="Absolute path of the image encoder (.onnx) on the server."
    )
    text_model = models.CharField(
        max_length=1024, blank=True, help_text="Optional text encoder (.onnx) for text search."
    )
    tokenizer = models.CharField(
        max_length=1024, blank=True, help_text="The text encoder's tokenizer.json."
    )
    dimension = models.PositiveIntegerField(null=True, blank=True, editable=False)
    group = models.ForeignKey(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="embedding_models",
        help_text="Only members of this team (and staff) may use it; empty = every user.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_text(self) -> bool:
        return bool(self.text_model and self.tokenizer)

    def clean(self) -> None:
        for field in ("image_model", "text_model", "tokenizer"):
            path = (getattr(self, field) or "").strip()
            if not path:
                setattr(self, field, "")
                continue
            if "\x00" in path:
                raise ValidationError({field: "The path contains a NUL character: remove it."})
            if not os.path.isabs(path):
                raise ValidationError(
                    {field: f"{path!r} is not an absolute path: write it from the root."}
                )
            path = os.path.normpath(path)
            if not os.path.isfile(path):
                raise ValidationError({field: f"{path} is not an existing file on the server."})
            setattr(self, field, path)
        try:
            pair = onnx_models_load(
                image_model=self.image_model,
                text_model=self.text_model or None,
                tokenizer=self.tokenizer or None,
            )
        except ModelError as exc:
            raise ValidationError(str(exc)) from None
        self.dimension = pair.dimension
