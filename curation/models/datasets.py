from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class Dataset(models.Model):
    """A collection of samples owned by one user and optionally shared with a team."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="datasets"
    )
    team = models.ForeignKey(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="datasets",
        help_text="Members of this team may read and write the dataset; empty = owner only.",
    )
    image_root = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Absolute folder the sample file names are relative to.",
    )
    default_mask_tag = models.ForeignKey(
        "curation.Tag",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Samples of this tag are never selected, unless a run names another mask "
        "(set by a Lightly CSV's masked column).",
    )
    default_preselected_tag = models.ForeignKey(
        "curation.Tag",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Samples of this tag are selected first in every run, unless a run names "
        "another pre-selection (set by a Lightly CSV's selected column).",
    )
    deleting = models.BooleanField(
        default=False,
        help_text="A delete job is removing this dataset: hidden from lists, no new work.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DatasetCounts(models.Model):
    """Samples per dataset, kept exact by database triggers on the sample table (migration
    0010): every insert, delete or move of samples updates this row in the same statement's
    transaction, whichever code path wrote them (ORM, raw SQL, COPY). Never written by Python;
    read it instead of ``COUNT(*)`` over millions of rows (admin, dataset list, browser).

    ``version`` (PostgreSQL, migration 0017; NULL = 0) grows with every statement that writes the
    dataset's samples or annotations, ``tag_version`` (migration 0018) with every statement that
    writes its tag memberships: results computed from those rows and stored under the versions
    they were read at stay exact (``curation.browse.filter_cache``)."""

    dataset = models.OneToOneField(
        Dataset, on_delete=models.CASCADE, primary_key=True, related_name="counts"
    )
    samples = models.BigIntegerField(default=0)
    version = models.BigIntegerField(null=True, blank=True)  # NULL: never written since
    tag_version = models.BigIntegerField(null=True, blank=True)  # tag memberships (0018)

    def __str__(self) -> str:
        return f"{self.dataset_id}: {self.samples} samples"
