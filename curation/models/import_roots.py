"""Server folders that web and API imports may read, each with an owner.

A root with a ``group`` is open to the members of that group (and to staff); a root without one
is open to staff only. Roots listed in ``settings.CURATION_IMPORT_ROOTS`` count as staff-only
roots. The command line (``manage.py import_dataset``) is the server operator and may read any
folder.
"""

from __future__ import annotations

import os

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models


class ImportRoot(models.Model):
    path = models.CharField(
        max_length=1024,
        unique=True,
        help_text="Absolute path of an existing folder on the server; imports read below it.",
    )
    name = models.CharField(max_length=200, help_text="A label shown to the users of the root.")
    group = models.ForeignKey(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="import_roots",
        help_text="Members of this team may import from the folder; empty = staff only.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "path"]

    def __str__(self) -> str:
        return f"{self.name} ({self.path})"

    def clean(self) -> None:
        path = (self.path or "").strip()
        if "\x00" in path:
            raise ValidationError({"path": "The path contains a NUL character: remove it."})
        if not os.path.isabs(path):
            raise ValidationError(
                {"path": f"{path!r} is not an absolute path: write it from the root, /like/this."}
            )
        path = os.path.normpath(path)
        if not os.path.isdir(path):
            raise ValidationError(
                {"path": f"{path} is not an existing folder on the server: create it first."}
            )
        self.path = path
