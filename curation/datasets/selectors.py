"""Reads about datasets shared by the dataset list, the API and the admin: per-dataset counts
that never multiply rows (a correlated COUNT per dataset, or the trigger-kept sample count)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce


def rows_per_dataset(model: Any) -> Coalesce:
    """Rows of ``model`` of the outer dataset, as a correlated ``COUNT(*)`` subquery (for the
    few rows a dataset has of tags or runs; never a join that multiplies them)."""
    rows = (
        model.objects.filter(dataset=OuterRef("pk"))
        .order_by()
        .values("dataset")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def stored_sample_count() -> Coalesce:
    """The dataset's sample count kept exact by the database triggers of ``DatasetCounts``."""
    return Coalesce(F("counts__samples"), 0)
