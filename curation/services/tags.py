"""Tags: named sample sets, written with bulk inserts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from curation.models import Dataset, Sample, Tag, TagSample


class TagError(ValueError):
    """A tag request that cannot be carried out; the message says why."""


def _validate_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise TagError("A tag needs a name.")
    if len(name) > 200:
        raise TagError("A tag name may have at most 200 characters.")
    return name


def tag_create(
    *,
    dataset: Dataset,
    name: str,
    sample_ids: Iterable[int],
    kind: str = Tag.Kind.USER,
    created_by: Any = None,
    description: str = "",
) -> Tag:
    """Create a tag holding ``sample_ids`` (all must belong to ``dataset``)."""
    name = _validate_name(name)
    ids = list(dict.fromkeys(int(i) for i in sample_ids))
    if ids:
        found = Sample.objects.filter(dataset=dataset, pk__in=ids).count()
        if found != len(ids):
            raise TagError(f"{len(ids) - found} of the samples do not belong to {dataset.name}.")
    try:
        with transaction.atomic():
            tag = Tag.objects.create(
                dataset=dataset,
                name=name,
                kind=kind,
                created_by=created_by,
                description=description,
            )
            TagSample.objects.bulk_create(
                [TagSample(tag=tag, sample_id=i) for i in ids], batch_size=5000
            )
    except IntegrityError:
        raise TagError(f"A tag named {name!r} already exists in {dataset.name}.") from None
    return tag
