"""A dataset's default mask and pre-selection, and the one candidate count every page shows.

A Lightly CSV's ``masked`` / ``selected`` columns become the tags ``masked`` / ``selected`` and
the dataset's *default* mask and pre-selection (:func:`dataset_defaults_from_import`). Every new
selection — dialog, API, CLI — uses them unless the run names its own tag or explicitly none:
the start service calls :func:`run_option_tags` (the only place the defaults are applied).

Invariants:
- ``DATASET_DEFAULT`` means "the dataset's default"; ``None`` or ``""`` means "no tag".
- The candidate count is :func:`candidate_counts` everywhere: the filtered samples plus the
  pre-selected ones outside the filter, minus the masked ones (a masked sample is invisible, also
  when pre-selected); shown as "N candidates (M masked, K pre-selected)".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from curation.models import Dataset, Sample, Tag, TagSample


class _Default(enum.Enum):
    TAG = "the dataset's default"


DATASET_DEFAULT = _Default.TAG
TagChoice = str | None | _Default

MASK_FLAG, PRESELECTED_FLAG = "masked", "selected"


class DefaultsError(ValueError):
    """A default that cannot be set; ``field`` names the form field."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# ----------------------------------------------------------------------------- defaults


def dataset_defaults_from_import(*, dataset: Dataset, flag: str, tag: Tag) -> None:
    """Record the tag a Lightly CSV's ``masked`` / ``selected`` column filled as the dataset's
    default mask / pre-selection (called by the import, inside its transaction)."""
    field = "default_mask_tag" if flag == MASK_FLAG else "default_preselected_tag"
    Dataset.objects.filter(pk=dataset.pk).update(**{field: tag})
    setattr(dataset, field, tag)


def _tag(dataset: Dataset, name: str | None, field: str, what: str) -> Tag | None:
    name = (name or "").strip()
    if not name:
        return None
    tag = Tag.objects.filter(dataset=dataset, name=name).first()
    if tag is None:
        raise DefaultsError(
            f"The {what} must be a tag of dataset {dataset.name!r}; there is no tag {name!r}.",
            field=field,
        )
    return tag


def dataset_defaults_update(
    *, dataset: Dataset, mask_tag: str | None, preselected_tag: str | None
) -> Dataset:
    """Set (or clear, with an empty name) both defaults by tag name. Raises
    :class:`DefaultsError` and writes nothing when a name is not a tag of the dataset."""
    mask = _tag(dataset, mask_tag, "default_mask_tag", "default mask")
    pre = _tag(dataset, preselected_tag, "default_preselected_tag", "default pre-selection")
    if mask is not None and pre is not None and mask.pk == pre.pk:
        raise DefaultsError(
            "One tag cannot be both the default mask and the default pre-selection.",
            field="default_preselected_tag",
        )
    dataset.default_mask_tag = mask
    dataset.default_preselected_tag = pre
    dataset.save(update_fields=["default_mask_tag", "default_preselected_tag", "updated"])
    return dataset


def run_option_tags(
    *, dataset: Dataset, mask_tag: TagChoice, preselected_tag: TagChoice
) -> tuple[str | None, str | None]:
    """The mask and pre-selection tag names a new run uses: the dataset's defaults for
    ``DATASET_DEFAULT``, none for ``None`` / ``""``, else the name given."""

    def pick(choice: TagChoice, default: Tag | None) -> str | None:
        if choice is DATASET_DEFAULT:
            return default.name if default is not None else None
        return choice or None

    defaults = (
        Dataset.objects.filter(pk=dataset.pk)
        .select_related("default_mask_tag", "default_preselected_tag")
        .first()
    )
    mask_default = defaults.default_mask_tag if defaults else None
    pre_default = defaults.default_preselected_tag if defaults else None
    return pick(mask_tag, mask_default), pick(preselected_tag, pre_default)


# ----------------------------------------------------------------------------- counting


@dataclass(frozen=True)
class CandidateCounts:
    candidates: int  # filtered + pre-selected outside the filter - masked
    masked: int  # of the filtered and pre-selected samples, how many are masked
    preselected: int  # pre-selected candidates (a masked one is not a candidate)

    def describe(self) -> str:
        noun = "candidate" if self.candidates == 1 else "candidates"
        return (
            f"{self.candidates:,} {noun} ({self.masked:,} masked, "
            f"{self.preselected:,} pre-selected)"
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "candidates": self.candidates,
            "masked": self.masked,
            "preselected": self.preselected,
        }


def candidate_counts(
    *, pool: QuerySet[Sample], mask: Tag | None, preselected: Tag | None
) -> CandidateCounts:
    """Count ``pool`` (the filtered samples plus the pre-selected ones, as
    ``candidate_queryset`` gives them) into candidates, masked and pre-selected."""
    total = pool.count()

    def member_of(tag: Tag) -> Exists:
        return Exists(TagSample.objects.filter(sample=OuterRef("pk"), tag=tag))

    masked = pool.filter(member_of(mask)).count() if mask is not None else 0
    pre = 0
    if preselected is not None:
        in_pre = pool.filter(member_of(preselected))
        if mask is not None:
            in_pre = in_pre.exclude(member_of(mask))
        pre = in_pre.count()
    return CandidateCounts(candidates=total - masked, masked=masked, preselected=pre)


def run_counts(run: Any) -> CandidateCounts | None:
    """A run's recorded counts (``options["counts"]``, written at start and at the end)."""
    counts = (run.options or {}).get("counts") if hasattr(run, "options") else None
    if not isinstance(counts, dict) or run.candidate_count is None:
        return None
    return CandidateCounts(
        candidates=int(run.candidate_count),
        masked=int(counts.get("masked", 0)),
        preselected=int(counts.get("preselected", 0)),
    )
