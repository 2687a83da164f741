"""The browser sidebar's facets: exact counts for the current filter, one SQL aggregate each.

Four panels, each loaded by its own request (``curation.browse.views_facets``):

- **tags**: samples per tag (``GROUP BY tag_id`` over the tag memberships);
- **labels**: samples per (task, label) (``COUNT(DISTINCT sample_id)`` over the annotations of
  the dataset's tasks, so a sample with three boxes of a class counts once);
- **values** of a string or boolean metadata key: the ``TOP_VALUES`` most frequent values with
  their counts, and how many samples hold another value (``GROUP BY`` type and value, with the
  total and the number of distinct values as window sums over the groups);
- **histogram** of a numeric metadata key: ``HISTOGRAM_BINS`` equal bins over the exact
  minimum and maximum of the numbers (PostgreSQL ``width_bucket`` over one materialised scan;
  on SQLite the same arithmetic, ``floor(n * (x - lo) / (hi - lo))``).

Each panel counts the samples that match the *rest* of the filter: its own condition is left
out (the labels panel ignores ``label=``/``task=``, a key's panel its own ``meta:``/``min:``/
``max:``, the tags panel ``tag=``/``exclude_tag=``). So the number beside an unchecked box is
how many samples checking it would bring (values of one facet are ORed), and a histogram shows
where the chosen range lies. With no other condition the panel counts the whole dataset.

Counts are never estimated or sampled. On PostgreSQL a panel runs with ``statement_timeout``
``budget_ms`` (``FACET_BUDGET_MS`` unless the user asked to wait, ``WAIT_BUDGET_MS``); when
time runs out it raises ``FacetTimeout`` and the panel says so instead of showing a guess.
Every result carries its server time (``ms``), which the panel shows beside the 300 ms target.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import OperationalError, connections, transaction
from django.db.models import Count, QuerySet

from curation.browse.facet_panels import (
    index_histogram,
    index_label_counts,
    index_tag_counts,
    index_value_count,
    index_values,
)
from curation.filters import SampleFilter, filter_samples
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample

FACET_BUDGET_MS = 5_000
WAIT_BUDGET_MS = 60_000
TARGET_MS = 300
TOP_VALUES = 12
HISTOGRAM_BINS = 20
_WORK_MEM = "64MB"  # sorts and hashes of one panel stay in memory at 1M samples


class FacetTimeout(Exception):
    """The exact aggregate did not finish within its time budget (PostgreSQL)."""

    def __init__(self, budget_ms: int) -> None:
        super().__init__(f"Counting took longer than {budget_ms / 1000:g} s.")
        self.budget_ms = budget_ms


@dataclass(frozen=True)
class TagCount:
    tag: Tag
    count: int


@dataclass
class TagFacet:
    rows: list[TagCount]
    ms: float = 0.0


@dataclass(frozen=True)
class LabelRow:
    label: str
    counts: tuple[int, ...]  # samples with this label, per task of ``LabelFacet.tasks``


@dataclass
class LabelFacet:
    tasks: list[AnnotationTask]
    rows: list[LabelRow]
    ms: float = 0.0


@dataclass
class ValueFacet:
    key: str
    values: list[tuple[str, int]]  # (value as the filter spells it, samples), most first
    other: int  # samples holding a value that is not listed
    distinct: int  # distinct values in all
    ms: float = 0.0


@dataclass
class HistogramFacet:
    key: str
    low: float | None
    high: float | None
    counts: list[int] = field(default_factory=list)
    ms: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts)

    def edges(self, i: int) -> tuple[float, float]:
        """The bounds of bin ``i`` (the last bin includes ``high``)."""
        assert self.low is not None and self.high is not None
        width = (self.high - self.low) / len(self.counts)
        return self.low + i * width, (
            self.high if i == len(self.counts) - 1 else self.low + (i + 1) * width
        )


# ---- the filter each panel counts under -------------------------------------------------------
def without_tags(sample_filter: SampleFilter) -> SampleFilter:
    return replace(sample_filter, tags=(), exclude_tags=())


def without_labels(sample_filter: SampleFilter) -> SampleFilter:
    return replace(sample_filter, labels=(), task="")


def without_values(sample_filter: SampleFilter, key: str) -> SampleFilter:
    return replace(sample_filter, values=tuple(v for v in sample_filter.values if v[0] != key))


def without_range(sample_filter: SampleFilter, key: str) -> SampleFilter:
    return replace(sample_filter, ranges=tuple(r for r in sample_filter.ranges if r[0] != key))


def _scope(dataset: Dataset, sample_filter: SampleFilter) -> QuerySet[Sample] | None:
    """The matching samples, or None when the filter keeps the whole dataset."""
    return None if sample_filter.is_empty else filter_samples(dataset, sample_filter)


# ---- panels -----------------------------------------------------------------------------------
def tag_facet(dataset: Dataset, sample_filter: SampleFilter, *, budget_ms: int) -> TagFacet:
    own = without_tags(sample_filter)
    tags = list(Tag.objects.filter(dataset=dataset).order_by("name"))
    started = time.perf_counter()
    found = index_tag_counts(dataset, own, tags)
    if found is not None:
        return TagFacet(rows=[TagCount(t, found[t.pk]) for t in tags], ms=_since(started))
    scope = _scope(dataset, own)
    rows = TagSample.objects.filter(tag__in=[t.pk for t in tags])
    if scope is not None:
        rows = rows.filter(sample_id__in=scope.values("pk"))
    grouped = rows.order_by().values_list("tag_id").annotate(n=Count("*"))
    with _budget(budget_ms) as clock:
        counts = dict(grouped)
    return TagFacet(rows=[TagCount(t, counts.get(t.pk, 0)) for t in tags], ms=clock.ms)


def label_facet(dataset: Dataset, sample_filter: SampleFilter, *, budget_ms: int) -> LabelFacet:
    tasks = list(AnnotationTask.objects.filter(dataset=dataset).order_by("name"))
    own = without_labels(sample_filter)
    clock = _Clock(started=time.perf_counter())
    found = index_label_counts(dataset, own, tasks) if tasks else None
    if found is not None:
        counts, clock.ms = found, _since(clock.started)
    else:
        counts, clock = _label_counts_sql(dataset, own, tasks, budget_ms)
    labels = {str(c) for t in tasks for c in (t.categories or [])}
    labels |= {label for _, label in counts} | set(sample_filter.labels)  # checked stay
    return LabelFacet(
        tasks=tasks,
        rows=[
            LabelRow(label, tuple(counts.get((t.pk, label), 0) for t in tasks))
            for label in sorted(labels, key=natural)
        ],
        ms=clock.ms,
    )


def _label_counts_sql(
    dataset: Dataset, own: SampleFilter, tasks: list[AnnotationTask], budget_ms: int
) -> tuple[dict[tuple[int, str], int], _Clock]:
    scope = _scope(dataset, own)
    rows = Annotation.objects.filter(task_id__in=[t.pk for t in tasks])
    if scope is not None:
        rows = rows.filter(sample_id__in=scope.values("pk"))
    grouped = (
        rows.order_by()
        .values_list("task_id", "label")
        .annotate(n=Count("sample_id", distinct=True))
    )
    with _budget(budget_ms) as clock:
        counts = {(task_id, label): n for task_id, label, n in grouped}
    return counts, clock


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def value_facet(
    dataset: Dataset, sample_filter: SampleFilter, key: str, *, budget_ms: int
) -> ValueFacet:
    """The most frequent string, boolean (and number) values of ``key`` under the filter, and
    the exact count of each chosen value even when it is not among them."""
    own = without_values(sample_filter, key)
    started = time.perf_counter()
    indexed = index_values(dataset, own, key, TOP_VALUES)
    if indexed is not None:
        groups, total, distinct = indexed
        merged: dict[str, int] = {}
        for k, v, n in groups:
            merged[_spelled(k, v)] = merged.get(_spelled(k, v), 0) + n
        for text in dict(sample_filter.values).get(key, ()):
            if text not in merged:  # a checked value beyond the top ones keeps its box
                narrowed = replace(own, values=(*own.values, (key, (text,))))
                count = index_value_count(dataset, narrowed)
                merged[text] = (
                    count if count is not None else filter_samples(dataset, narrowed).count()
                )
        return _value_facet(key, merged, total, distinct, _since(started))
    inner = filter_samples(dataset, own).order_by().values_list("metadata")
    sql, params = inner.query.sql_with_params()
    postgres = connections[inner.db].vendor == "postgresql"
    kind, value = _POSTGRES_VALUE if postgres else _SQLITE_VALUE
    kinds = ("string", "boolean", "number") if postgres else _SQLITE_KINDS
    path = key if postgres else _sqlite_path(key)
    query = f"""
        SELECT k, v, n, SUM(n) OVER (), COUNT(*) OVER () FROM (
            SELECT k, v, COUNT(*) AS n FROM (
                SELECT {kind} AS k, {value} AS v FROM ({sql}) AS s
            ) AS typed WHERE k IN ({", ".join(["%s"] * len(kinds))}) GROUP BY k, v
        ) AS g ORDER BY n DESC, k, v LIMIT %s
    """  # noqa: S608 (no user text: the key and the values are parameters)
    arguments = [path, path, path, path, *params, *kinds, TOP_VALUES]
    with _budget(budget_ms) as clock, connections[inner.db].cursor() as cursor:
        cursor.execute(query, arguments)
        found = cursor.fetchall()
        total = int(found[0][3]) if found else 0
        distinct = int(found[0][4]) if found else 0
        merged = {}
        for k, v, n, _, _ in found:
            text = _spelled(str(k), v)
            merged[text] = merged.get(text, 0) + int(n)
        chosen = dict(sample_filter.values).get(key, ())
        for text in chosen:
            if text not in merged:  # a checked value beyond the top ones keeps its box
                narrowed = replace(own, values=(*own.values, (key, (text,))))
                merged[text] = filter_samples(dataset, narrowed).count()
    return _value_facet(key, merged, total, distinct, clock.ms)


def _value_facet(
    key: str, merged: dict[str, int], total: int, distinct: int, ms: float
) -> ValueFacet:
    listed = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    other = max(total - sum(n for _, n in listed), 0)
    return ValueFacet(key=key, values=listed, other=other, distinct=distinct, ms=ms)


def histogram_facet(
    dataset: Dataset, sample_filter: SampleFilter, key: str, *, budget_ms: int
) -> HistogramFacet:
    """Equal-width bins between the exact minimum and maximum of the numbers stored at
    ``key`` in the samples matching the rest of the filter."""
    started = time.perf_counter()
    indexed = index_histogram(dataset, without_range(sample_filter, key), key, HISTOGRAM_BINS)
    if indexed is not None:
        low, high, counts = indexed
        if low is None or high is None:
            return HistogramFacet(key=key, low=None, high=None, ms=_since(started))
        return HistogramFacet(key=key, low=low, high=high, counts=counts, ms=_since(started))
    inner = (
        filter_samples(dataset, without_range(sample_filter, key))
        .order_by()
        .values_list("metadata")
    )
    sql, params = inner.query.sql_with_params()
    bins = HISTOGRAM_BINS
    with _budget(budget_ms) as clock, connections[inner.db].cursor() as cursor:
        if connections[inner.db].vendor == "postgresql":
            cursor.execute(_POSTGRES_HISTOGRAM.format(inner=sql), [key, *params, key, bins, bins])
            rows = cursor.fetchall()
            low, high = (rows[0][0], rows[0][1]) if rows else (None, None)
            by_bin = {int(b) - 1: int(n) for _, _, b, n in rows}
        else:
            numbers = _SQLITE_NUMBERS.format(inner=sql)
            path = _sqlite_path(key)
            cursor.execute(f"SELECT MIN(x), MAX(x) FROM ({numbers})", [path, *params, path])  # noqa: S608
            low, high = cursor.fetchone()
            by_bin = {}
            if low is not None:
                cursor.execute(
                    _SQLITE_BINS.format(numbers=numbers),
                    [low, high, bins, low, high, low, bins, path, *params, path],
                )
                by_bin = {int(b): int(n) for b, n in cursor.fetchall()}
    if low is None or high is None:
        return HistogramFacet(key=key, low=None, high=None, ms=clock.ms)
    counts = [by_bin.get(i, 0) for i in range(bins)]
    return HistogramFacet(key=key, low=float(low), high=float(high), counts=counts, ms=clock.ms)


# ---- SQL --------------------------------------------------------------------------------------
# type and value of metadata[key]; numbers as float8 text so that 3 and 3.0 are one value
_POSTGRES_VALUE = (
    "jsonb_typeof(s.metadata -> %s)",
    "CASE WHEN jsonb_typeof(s.metadata -> %s) = 'number' "
    "THEN ((s.metadata ->> %s)::float8)::text ELSE s.metadata ->> %s END",
)
_SQLITE_VALUE = (
    "json_type(s.metadata, %s)",
    "CASE WHEN json_type(s.metadata, %s) IN ('integer', 'real') "
    "THEN CAST(json_extract(s.metadata, %s) AS REAL) ELSE json_extract(s.metadata, %s) END",
)
_SQLITE_KINDS = ("text", "true", "false", "integer", "real")

# one scan, materialised once: exact bounds, then width_bucket (the maximum joins the last bin)
_POSTGRES_HISTOGRAM = """
    WITH v AS MATERIALIZED (
        SELECT (s.metadata ->> %s)::float8 AS x FROM ({inner}) AS s
        WHERE jsonb_typeof(s.metadata -> %s) = 'number'
    ), b AS (SELECT MIN(x) AS lo, MAX(x) AS hi FROM v)
    SELECT b.lo, b.hi,
           CASE WHEN b.hi > b.lo THEN LEAST(width_bucket(v.x, b.lo, b.hi, %s), %s) ELSE 1 END
               AS bin,
           COUNT(*)
    FROM v CROSS JOIN b GROUP BY b.lo, b.hi, bin ORDER BY bin
"""
_SQLITE_NUMBERS = """
    SELECT json_extract(s.metadata, %s) AS x FROM ({inner}) AS s
    WHERE json_type(s.metadata, %s) IN ('integer', 'real')
"""
_SQLITE_BINS = """
    SELECT CASE WHEN %s < %s THEN MIN(CAST(%s * ((x - %s) / (%s - %s)) AS INTEGER), %s - 1)
                ELSE 0 END AS bin,
           COUNT(*)
    FROM ({numbers}) GROUP BY bin
"""


def _sqlite_path(key: str) -> str:
    return "$." + json.dumps(key)  # as curation.filter_metadata spells it


def _spelled(kind: str, value: Any) -> str:
    """A value as ``meta:KEY=…`` spells it (``curation.filter_metadata.typed_values``)."""
    if kind in {"boolean", "true", "false"}:
        if kind in {"true", "false"}:
            return kind
        return str(value).lower()
    if kind in {"number", "integer", "real"}:
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def natural(label: str) -> tuple[int, float | str]:
    """Numbers first in numeric order, then names."""
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


# ---- the time budget --------------------------------------------------------------------------
@dataclass
class _Clock:
    started: float
    ms: float = 0.0


@contextmanager
def _budget(budget_ms: int, using: str = "default") -> Iterator[_Clock]:
    """Time the block; on PostgreSQL run it in a transaction with ``statement_timeout``
    ``budget_ms`` (a cancelled statement raises ``FacetTimeout``)."""
    clock = _Clock(started=time.perf_counter())
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield clock
        clock.ms = (time.perf_counter() - clock.started) * 1000
        return
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(budget_ms)])
            cursor.execute("SELECT set_config('work_mem', %s, true)", [_WORK_MEM])
            clock.started = time.perf_counter()
            yield clock
    except OperationalError as exc:
        if type(exc.__cause__).__name__ == "QueryCanceled":
            raise FacetTimeout(budget_ms) from None
        raise
    clock.ms = (time.perf_counter() - clock.started) * 1000
