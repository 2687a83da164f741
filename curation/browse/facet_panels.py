"""The facet panels counted on the facet index (``curation.browse.facet_index``): the same
dataclasses, the same numbers as the SQL aggregates of ``curation.browse.facets``, in
milliseconds at millions of samples.

Each function returns None where the index cannot answer exactly (the caller runs the SQL
aggregate): a filter condition the index does not evaluate, a key with too many distinct
strings, or a tie at the edge of the top values too wide to order (``MAX_TIED``). Where SQL
orders text (the top values' ties), PostgreSQL orders it here too, under the database's
collation, so that both paths list the same values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import connection

from curation.browse.facet_columns import FALSE, STRING, TRUE
from curation.browse.facet_index import FacetIndex, index_mask, with_index
from curation.browse.filter_cache import DataState
from curation.filters import SampleFilter
from curation.models import AnnotationTask, Dataset, Tag

MAX_TIED = 5_000


def _mask(
    index: FacetIndex, dataset: Dataset, sample_filter: SampleFilter, state: DataState
) -> np.ndarray | None:
    return index_mask(index, dataset, sample_filter, state)


def index_tag_counts(dataset: Dataset, own: SampleFilter, tags: list[Tag]) -> dict[int, int] | None:
    """Samples per tag among those matching ``own``."""

    def answer(index: FacetIndex, state: DataState) -> dict[int, int] | None:
        mask = _mask(index, dataset, own, state)
        if mask is None:
            return None
        positions = index.tag_positions(state)
        empty = np.empty(0, dtype=np.int64)
        return {t.pk: int(mask[positions.get(t.pk, empty)].sum()) for t in tags}

    return with_index(dataset, own, answer)


def index_label_counts(
    dataset: Dataset, own: SampleFilter, tasks: list[AnnotationTask]
) -> dict[tuple[int, str], int] | None:
    """Samples per (task id, label) among those matching ``own`` (groups with samples only)."""

    def answer(index: FacetIndex, state: DataState) -> dict[tuple[int, str], int] | None:
        mask = _mask(index, dataset, own, state)
        if mask is None:
            return None
        columns = index.label_columns()
        if columns is None:
            return None
        wanted = np.isin(columns.task, [t.pk for t in tasks]) & mask[columns.position]
        counts: dict[tuple[int, str], int] = {}
        width = max(len(columns.labels), 1)
        for task in tasks:
            chosen = wanted & (columns.task == task.pk)
            per_label = np.bincount(columns.label[chosen], minlength=width)
            for code in np.flatnonzero(per_label):
                counts[(task.pk, columns.labels[code])] = int(per_label[code])
        return counts

    return with_index(dataset, own, answer)


def index_values(
    dataset: Dataset, own: SampleFilter, key: str, top: int
) -> tuple[list[tuple[str, Any, int]], int, int] | None:
    """(the ``top`` most frequent (kind, value, samples) groups in SQL's order, samples with a
    value, distinct values) of ``key`` among the samples matching ``own``; kinds and values as
    the SQL facet reads them (``jsonb_typeof``, float8 numbers)."""

    def answer(index: FacetIndex, state: DataState) -> Any:
        mask = _mask(index, dataset, own, state)
        if mask is None or "\x00" in key:
            return None
        column = index.key(key)
        if column is None or not column.complete:
            return None
        groups: list[tuple[str, Any, int]] = []
        strings = np.bincount(
            column.code[mask & (column.kind == STRING)], minlength=len(column.vocabulary)
        )
        groups += [
            ("string", column.vocabulary[c], int(strings[c])) for c in np.flatnonzero(strings)
        ]
        for kind, word in ((TRUE, "true"), (FALSE, "false")):
            n = int(np.count_nonzero(mask & (column.kind == kind)))
            if n:
                groups.append(("boolean", word, n))
        numbers = column.number[mask & column.is_number()]
        bits, counts = np.unique(numbers.view(np.int64), return_counts=True)  # -0.0 != 0.0
        values = bits.view(np.float64)
        total = sum(n for _, _, n in groups) + int(counts.sum())
        distinct = len(groups) + len(bits)
        ranked = _top(groups, values, counts, top)
        return None if ranked is None else (ranked, total, distinct)

    return with_index(dataset, own, answer)


def _top(
    groups: list[tuple[str, Any, int]], values: np.ndarray, counts: np.ndarray, top: int
) -> list[tuple[str, Any, int]] | None:
    """The first ``top`` groups by samples, ties ordered as SQL orders them (kind, then the
    value's text under the database's collation)."""
    everything = np.asarray([n for _, _, n in groups] + counts.tolist(), dtype=np.int64)
    if not len(everything):
        return []
    edge = (
        int(np.partition(everything, len(everything) - top)[-top]) if len(everything) > top else 0
    )
    chosen = [g for g in groups if g[2] >= edge]
    keep = counts >= edge
    if len(chosen) + int(keep.sum()) > top + MAX_TIED:
        return None
    return _sql_order(chosen, values[keep], counts[keep])[:top]


def _sql_order(
    groups: list[tuple[str, Any, int]], numbers: np.ndarray, counts: np.ndarray
) -> list[tuple[str, Any, int]]:
    """``groups`` and (``numbers``, ``counts``) ordered by PostgreSQL as the SQL facet orders
    them: ``ORDER BY samples DESC, kind, text`` with numbers spelled as float8 text."""
    kinds = [g[0] for g in groups] + ["number"] * len(numbers)
    texts = [str(g[1]) for g in groups] + [None] * len(numbers)
    floats = [None] * len(groups) + numbers.tolist()
    ns = [g[2] for g in groups] + counts.tolist()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT k, x, s, n FROM unnest(%s::text[], %s::float8[], %s::text[], %s::int8[])
                AS t(k, x, s, n)
            ORDER BY n DESC, k, CASE WHEN k = 'number' THEN x::text ELSE s END
            """,
            [kinds, floats, texts, ns],
        )
        return [(k, x if k == "number" else s, int(n)) for k, x, s, n in cursor.fetchall()]


def index_value_count(dataset: Dataset, narrowed: SampleFilter) -> int | None:
    """How many samples match ``narrowed`` (a chosen value beyond the top ones)."""

    def answer(index: FacetIndex, state: DataState) -> int | None:
        mask = _mask(index, dataset, narrowed, state)
        return None if mask is None else int(mask.sum())

    return with_index(dataset, narrowed, answer)


def index_histogram(
    dataset: Dataset, own: SampleFilter, key: str, bins: int
) -> tuple[float | None, float | None, list[int]] | None:
    """(minimum, maximum, samples per bin) of the numbers at ``key`` among the samples matching
    ``own``, binned as PostgreSQL's ``width_bucket`` bins them (the maximum joins the last)."""

    def answer(index: FacetIndex, state: DataState) -> Any:
        mask = _mask(index, dataset, own, state)
        if mask is None or "\x00" in key:
            return None
        column = index.key(key)
        if column is None:
            return None
        x = column.number[mask & column.is_number()]
        if not len(x):
            return (None, None, [])
        low, high = float(x.min()), float(x.max())
        if not np.isfinite(high - low):
            return None  # width_bucket's overflow path: leave it to SQL
        if high > low:
            where = np.floor(bins * (x - low) / (high - low)).astype(np.int64)
            where = np.minimum(where, bins - 1)
        else:
            where = np.zeros(len(x), dtype=np.int64)
        return (low, high, np.bincount(where, minlength=bins).tolist())

    return with_index(dataset, own, answer)
