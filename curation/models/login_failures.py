from __future__ import annotations

from django.db import models


class LoginFailure(models.Model):
    """One failed sign-in, kept for the throttling window (``curation.accounts.services``).

    Stored in the database so that every web process sees the same count; rows older than the
    window are deleted as new failures come in, and a successful sign-in deletes its username's.
    """

    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True, help_text="Client IP address.")
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.username or '?'} from {self.address} at {self.created:%Y-%m-%d %H:%M:%S}"
