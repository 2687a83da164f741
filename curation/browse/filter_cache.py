"""Exact filter results at millions of samples: counts and map masks stored under the
dataset's data version, so a filter counted once answers again without touching a million rows.

Invariants:
- ``DatasetCounts.version`` grows with every statement that writes the dataset's samples or
  annotations, ``DatasetCounts.tag_version`` with every statement that writes its tag
  memberships (PostgreSQL triggers of migrations 0017 and 0018, in the writing transaction). A
  result is stored under the versions read *before* it was computed, so it holds rows at least
  as new as them; any later write changes a version and with it the key, and the stored result
  is never read again. Results stay exact, never estimates.
- A result depends on tag memberships when its SQL reads the tag-membership table or its caller
  says so (a tag panel, a mask or preselected tag): only then is ``tag_version`` part of the
  key, so tagging samples keeps the stored counts of filters without tags.
- The key holds the filter's compiled SQL and parameters (tag, task and label ids as the
  filter resolved them: a renamed or recreated tag is another key) plus the caller's extras.
- Nothing is read from or stored in the cache by a transaction that has written (its version
  bump could be rolled back and the number reused), on SQLite (no version triggers), or for
  filters whose result depends on more than those rows (map regions, text search, find
  similar): those are computed every time, as before.
- An empty filter is counted from ``DatasetCounts.samples`` (exact, kept by triggers).

The cache is Django's cache (per process by default); entries live ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from curation.browse.selectors import map_masks
from curation.filters import SampleFilter, filter_samples
from curation.models import Dataset, Tag, TagSample
from curation.models.datasets import DatasetCounts

CACHE_SECONDS = 600


@dataclass(frozen=True)
class DataState:
    """A dataset's sample count and data versions, and whether results may be cached now."""

    samples: int
    version: int
    cacheable: bool
    tag_version: int = 0


def data_state(dataset: Dataset) -> DataState | None:
    """The dataset's ``DatasetCounts`` row in one indexed read (None without one)."""
    if connection.vendor != "postgresql":
        row = DatasetCounts.objects.filter(dataset_id=dataset.pk).values_list("samples").first()
        return DataState(samples=int(row[0]), version=0, cacheable=False) if row else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT samples, COALESCE(version, 0), pg_current_xact_id_if_assigned() IS NULL, "  # noqa: S608
            f"COALESCE(tag_version, 0) FROM {DatasetCounts._meta.db_table} WHERE dataset_id = %s",
            [dataset.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return DataState(
        samples=int(row[0]), version=int(row[1]), cacheable=bool(row[2]), tag_version=int(row[3])
    )


def depends_on_rows_only(sample_filter: SampleFilter) -> bool:
    """Whether the filter's result is a function of the rows the data version tracks."""
    return not (sample_filter.regions or sample_filter.text or sample_filter.similar_to)


def cached_result[T](
    dataset: Dataset,
    what: str,
    qs: QuerySet[Any],
    compute: Callable[[], T],
    *extra: object,
    state: DataState | None = None,
    tags: bool = False,
) -> T:
    """``compute()``, or its stored result for the same ``what``, SQL of ``qs``, ``extra`` and
    data versions (see the module docstring); ``tags``: the result reads tag memberships even
    where the SQL of ``qs`` does not."""
    state = state if state is not None else data_state(dataset)
    if state is None or not state.cacheable:
        return compute()
    try:
        sql, params = qs.order_by().query.sql_with_params()
    except EmptyResultSet:  # e.g. a key no JSON can hold: nothing matches, nothing to store
        return compute()
    text = repr((what, sql, params, extra)).encode()
    digest = hashlib.blake2b(text, digest_size=16).hexdigest()
    version = f"{state.version}"
    if tags or TagSample._meta.db_table in sql:
        version += f".{state.tag_version}"
    key = f"curation:filter:{dataset.pk}:{version}:{digest}"
    found = cache.get(key)
    if found is not None:
        return found
    result = compute()
    cache.set(key, result, CACHE_SECONDS)
    return result


def filter_count(dataset: Dataset, sample_filter: SampleFilter) -> int:
    """How many samples of ``dataset`` match ``sample_filter``, exact. Raises ``FilterError``."""
    qs = filter_samples(dataset, sample_filter)
    state = data_state(dataset)
    if sample_filter.is_empty and state is not None:
        return state.samples
    if not depends_on_rows_only(sample_filter):
        return qs.count()
    return cached_result(dataset, "count", qs, qs.count, state=state)


@dataclass(frozen=True)
class PackedMasks:
    """``MapMasks`` as little-endian bit arrays (``np.packbits``), with the filter's count."""

    filter_bits: bytes | None
    matching: int
    tag_bits: bytes | None


def _packed(mask: np.ndarray | None) -> bytes | None:
    return None if mask is None else np.packbits(mask, bitorder="little").tobytes()


def map_masks_packed(
    *,
    dataset: Dataset,
    row_ids: np.ndarray,
    row_key: str,
    sample_filter: SampleFilter,
    tag: Tag | None,
) -> PackedMasks:
    """``map_masks`` packed into bits, stored per ``row_key`` (the points binary's ETag: the
    row order) when the filter depends on the dataset's rows only. Raises ``FilterError``."""

    def compute() -> PackedMasks:
        masks = map_masks(dataset=dataset, row_ids=row_ids, sample_filter=sample_filter, tag=tag)
        matching = int(masks.filter_mask.sum()) if masks.filter_mask is not None else 0
        return PackedMasks(_packed(masks.filter_mask), matching, _packed(masks.tag_mask))

    if not depends_on_rows_only(sample_filter):
        return compute()
    qs = filter_samples(dataset, sample_filter)
    return cached_result(
        dataset, "map-masks", qs, compute, row_key, tag.pk if tag else None, tags=tag is not None
    )
