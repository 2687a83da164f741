"""Reads behind the browser pages: result pages, capped counts, the filter sidebar's facets,
metadata discovery and nearest neighbours. Everything here stays fast at 1M samples:

- pages are keyset-paginated (``pk > after``), never OFFSET;
- filtered counts stop at ``COUNT_CAP`` ("more than 10,000"); on PostgreSQL a count gets
  ``COUNT_TIMEOUT_MS``: it walks a cursor over the matching ids in growing steps, and if time
  runs out it shows the rows counted so far as a lower bound ("at least N"). A count is never
  a planner estimate: it is exact or a bound that is provably correct;
- metadata keys, their types, bounds, histograms and string values are discovered from a
  sample of ``METADATA_SAMPLE_ROWS`` rows spread over the dataset (cached briefly);
- the map's masks read the matching ids with one unordered query, streamed on PostgreSQL as
  binary ``COPY`` into numpy (``matching_ids``);
- neighbours are exact (``nearest_to_row``, the engine's kernel: one matrix-vector product
  over the memory-mapped embedding matrix).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import OperationalError, connections, transaction
from django.db.models import Count, Max, Min, QuerySet

from curation.filters import SampleFilter, filter_samples
from curation.filters_similar import ranked_neighbours, similar_ranked_page
from curation.filters_text import text_ranked_page
from curation.models import AnnotationTask, Dataset, EmbeddingSpace, Sample, Tag
from curation.models.datasets import DatasetCounts
from curation.selection.kernels_align import RowIndex, row_of
from curation.selection.kernels_knn import nearest_to_row
from curation.storage.embeddings import embedding_space_load

PAGE_SIZE = 60
COUNT_CAP = 10_000
COUNT_TIMEOUT_MS = 100
METADATA_SAMPLE_ROWS = 2_000
HISTOGRAM_BINS = 20
MAX_STRING_VALUES = 12
GRID_FIELDS: tuple[str, ...] = ("id", "dataset_id", "file_name", "width", "height", "thumbnail")
GRID_FIELDS += ("video", "frame_index")  # frames are grouped into filmstrips (curation.videos)


@dataclass(frozen=True)
class ResultPage:
    samples: list[Sample]
    next_after: int | None


@dataclass(frozen=True)
class CappedCount:
    """A count that is exact, or an honest bound: ``capped`` = more than ``value - 1`` (the
    count stopped at the cap), ``lower_bound`` = at least ``value`` (time ran out)."""

    value: int
    capped: bool
    lower_bound: bool = False

    @property
    def exact(self) -> bool:
        return not (self.capped or self.lower_bound)

    def __str__(self) -> str:
        if self.lower_bound:
            return f"at least {self.value:,}"
        return f"more than {self.value - 1:,}" if self.capped else f"{self.value:,}"


@dataclass
class MetadataField:
    key: str
    kind: str  # "number", "string" or "boolean"
    low: float | None = None
    high: float | None = None
    bars: list[int] = field(default_factory=list)  # bar heights in percent
    values: list[tuple[str, int]] = field(default_factory=list)  # (value, count in the sample)

    @property
    def param(self) -> str:
        return self.key

    @property
    def step(self) -> str:
        if self.low is None or self.high is None:
            return "any"
        return "1" if float(self.low).is_integer() and float(self.high).is_integer() else "any"


def result_page(
    dataset: Dataset, sample_filter: SampleFilter, *, after: int = 0, size: int = PAGE_SIZE
) -> ResultPage:
    if sample_filter.text:  # ranked best first: ``after`` is a rank offset (filters_text)
        qs = filter_samples(dataset, sample_filter).only(*GRID_FIELDS)
        ranked, _, more = text_ranked_page(
            dataset, sample_filter, offset=after, size=size, samples=qs
        )
        return ResultPage(samples=ranked, next_after=after + size if more else None)
    if sample_filter.similar_to:  # nearest first: ``after`` is a rank offset (filters_similar)
        qs = filter_samples(dataset, sample_filter).only(*GRID_FIELDS)
        ranked, _, more = similar_ranked_page(
            dataset, sample_filter, offset=after, size=size, samples=qs
        )
        return ResultPage(samples=ranked, next_after=after + size if more else None)
    rows = list(
        filter_samples(dataset, sample_filter)
        .filter(pk__gt=after)
        .order_by("pk")
        .only(*GRID_FIELDS)[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return ResultPage(samples=rows, next_after=rows[-1].pk if more and rows else None)


def counted(
    qs: QuerySet[Any], cap: int | None = None, *, budget_ms: int | None = None, at_least: int = 0
) -> CappedCount:
    """``qs.count()``, stopping at ``cap + 1``. On PostgreSQL the count walks a cursor over the
    matching ids (``MOVE``, no rows transferred) in growing steps within ``budget_ms``
    (default ``COUNT_TIMEOUT_MS``); when time runs out the rows counted so far are a lower
    bound. Stale planner statistics cannot make it wrong, only (at worst) a bound."""
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        found = (qs.order_by()[: cap + 1] if cap is not None else qs.order_by()).count()
        return CappedCount(value=found, capped=cap is not None and found > cap)
    budget = COUNT_TIMEOUT_MS if budget_ms is None else budget_ms
    deadline = time.monotonic() + budget / 1000
    limit = cap + 1 if cap is not None else None
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    name = f"curation_count_{uuid.uuid4().hex[:12]}"
    found = 0
    step = 32
    try:
        with transaction.atomic(using=qs.db), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            previous = cursor.fetchone()[0]
            cursor.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", params)
            while True:
                left_ms = int((deadline - time.monotonic()) * 1000)
                if left_ms <= 0:
                    raise _OutOfTime
                wanted = step if limit is None else min(step, limit - found)
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(left_ms)])
                cursor.execute(f"MOVE FORWARD {int(wanted)} IN {name}")
                moved = max(cursor.rowcount, 0)
                found += moved
                if moved < wanted or (limit is not None and found >= limit):
                    break
                step = min(step * 4, 65_536)
            cursor.execute(f"CLOSE {name}")
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except (OperationalError, _OutOfTime) as exc:  # the savepoint rollback undoes the timeout
        if isinstance(exc, OperationalError) and not _cancelled(exc):
            raise
        # ``at_least``: rows the caller has already seen match (e.g. the first result page)
        return CappedCount(value=max(found, at_least), capped=False, lower_bound=True)
    return CappedCount(value=found, capped=cap is not None and found > cap)


def _cancelled(exc: BaseException) -> bool:
    """A statement timeout (psycopg's ``QueryCanceled``), not a lost connection."""
    return type(exc.__cause__).__name__ == "QueryCanceled"


class _OutOfTime(Exception):
    """The count's time budget ran out between two steps."""


def result_count(
    dataset: Dataset, sample_filter: SampleFilter, first_page: ResultPage | None = None
) -> CappedCount:
    """What the browser shows: exact, "more than 10,000" or "at least N". ``first_page`` (the
    page from ``after=0``) settles small results without a count and is a lower bound for the
    rest."""
    if sample_filter.is_empty:
        return dataset_sample_count(dataset)
    if first_page is not None and first_page.next_after is None:
        return CappedCount(value=len(first_page.samples), capped=False)
    seen = len(first_page.samples) + 1 if first_page is not None else 0  # a next page exists
    return counted(filter_samples(dataset, sample_filter), COUNT_CAP, at_least=seen)


def tags_with_counts(dataset: Dataset) -> list[Tag]:
    return list(
        Tag.objects.filter(dataset=dataset).annotate(size=Count("memberships")).order_by("name")
    )


def annotation_tasks(dataset: Dataset) -> list[AnnotationTask]:
    return list(AnnotationTask.objects.filter(dataset=dataset).order_by("name"))


def size_bounds(dataset: Dataset) -> dict[str, int | None]:
    key = f"curation:size-bounds:{dataset.pk}:{dataset.updated.timestamp()}"
    bounds = cache.get(key)
    if bounds is None:
        bounds = Sample.objects.filter(dataset=dataset).aggregate(
            width_low=Min("width"), width_high=Max("width"),
            height_low=Min("height"), height_high=Max("height"),
        )  # fmt: skip
        cache.set(key, bounds, 300)
    return bounds


def metadata_fields(dataset: Dataset) -> list[MetadataField]:
    """Metadata keys with their type, and bounds + histogram (numbers) or frequent values
    (strings, booleans), from an evenly spread sample of rows. Cached for a minute."""
    key = f"curation:metadata-fields:{dataset.pk}"
    fields = cache.get(key)
    if fields is None:
        fields = _discover_metadata(_metadata_sample(dataset))
        cache.set(key, fields, 60)
    return fields


def _metadata_sample(dataset: Dataset) -> list[dict[str, Any]]:
    """Up to ``METADATA_SAMPLE_ROWS`` metadata dicts spread over the id range (a few index
    range scans, no full scan)."""
    samples = Sample.objects.filter(dataset=dataset)
    bounds = samples.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = bounds["low"], bounds["high"]
    if low is None:
        return []
    if high - low < METADATA_SAMPLE_ROWS * 2:
        return list(
            samples.order_by("pk").values_list("metadata", flat=True)[:METADATA_SAMPLE_ROWS]
        )
    slices = 10
    per_slice = METADATA_SAMPLE_ROWS // slices
    rows: list[dict[str, Any]] = []
    for i in range(slices):
        start = low + (high - low) * i // slices
        rows += (
            samples.filter(pk__gte=start)
            .order_by("pk")
            .values_list("metadata", flat=True)[:per_slice]
        )
    return rows


def _discover_metadata(rows: list[dict[str, Any]]) -> list[MetadataField]:
    numbers: dict[str, list[float]] = {}
    strings: dict[str, Counter[str]] = {}
    booleans: dict[str, Counter[str]] = {}
    for metadata in rows:
        if not isinstance(metadata, dict):
            continue
        for key, value in metadata.items():
            if isinstance(value, bool):
                booleans.setdefault(key, Counter())[str(value).lower()] += 1
            elif isinstance(value, int | float) and math.isfinite(value):
                numbers.setdefault(key, []).append(float(value))
            elif isinstance(value, str):
                strings.setdefault(key, Counter())[value] += 1
    fields: list[MetadataField] = []
    for key, values in numbers.items():
        if key in strings:
            continue  # mixed types: offer it as text
        array = np.asarray(values)
        low, high = float(array.min()), float(array.max())
        counts, _ = np.histogram(
            array, bins=HISTOGRAM_BINS, range=(low, high if high > low else low + 1)
        )
        top = int(counts.max()) or 1
        bars = [round(100 * int(c) / top) for c in counts]
        fields.append(MetadataField(key=key, kind="number", low=low, high=high, bars=bars))
    for key, counter in strings.items():
        fields.append(
            MetadataField(key=key, kind="string", values=counter.most_common(MAX_STRING_VALUES))
        )
    for key, counter in booleans.items():
        fields.append(MetadataField(key=key, kind="boolean", values=sorted(counter.items())))
    return sorted(fields, key=lambda f: (f.kind != "number", f.key))


@dataclass(frozen=True)
class Neighbours:
    space: EmbeddingSpace
    items: list[tuple[Sample, float]]  # (sample, distance)


def nearest_neighbours(sample: Sample, *, k: int = 12) -> list[Neighbours]:
    """Exact top-k neighbours of ``sample`` in each embedding space of its dataset: cosine
    distance for normalised spaces, Euclidean otherwise. One pass over each matrix."""
    spaces = list(EmbeddingSpace.objects.filter(dataset_id=sample.dataset_id).defer("projection"))
    found: list[tuple[EmbeddingSpace, list[int], list[float]]] = []
    for space in spaces:
        try:
            loaded = embedding_space_load(space)
        except OSError:
            continue
        row = row_of(loaded.sample_ids, sample.pk)
        if row is None:
            continue
        top, distance = nearest_to_row(loaded.matrix, row, k, cosine=space.normalized)
        if len(top) == 0:
            continue
        found.append((space, loaded.sample_ids[top].tolist(), distance.tolist()))
    wanted = {i for _, ids, _ in found for i in ids}
    by_id = Sample.objects.only(*GRID_FIELDS).in_bulk(wanted)
    return [
        Neighbours(
            space=space,
            items=[(by_id[i], d) for i, d in zip(ids, dists, strict=True) if i in by_id],
        )
        for space, ids, dists in found
    ]


def adjacent_ids(
    dataset: Dataset, sample_filter: SampleFilter, sample_id: int
) -> tuple[int | None, int | None]:
    """The previous and next sample ids within the filter (keyset, two index lookups), or
    in its ranked order for ``text=`` / ``similar_to=``."""
    if sample_filter.text or sample_filter.similar_to:
        return ranked_neighbours(dataset, sample_filter, sample_id)
    qs = filter_samples(dataset, sample_filter)
    previous = qs.filter(pk__lt=sample_id).order_by("-pk").values_list("pk", flat=True).first()
    following = qs.filter(pk__gt=sample_id).order_by("pk").values_list("pk", flat=True).first()
    return previous, following


def sample_counts(dataset_ids: list[int]) -> dict[int, CappedCount]:
    """Samples per dataset, exact: the ``DatasetCounts`` rows that database triggers keep up to
    date with every insert and delete (one indexed read, however many samples)."""
    found = dict(
        DatasetCounts.objects.filter(dataset_id__in=dataset_ids).values_list(
            "dataset_id", "samples"
        )
    )
    missing = [pk for pk in dataset_ids if pk not in found]
    if missing:  # no counts row (cannot happen after migration 0010): count them
        grouped = (
            Sample.objects.filter(dataset_id__in=missing)
            .order_by()
            .values_list("dataset_id")
            .annotate(n=Count("pk"))
        )
        found.update(dict(grouped))
    return {pk: CappedCount(value=int(found.get(pk, 0)), capped=False) for pk in dataset_ids}


def dataset_sample_count(dataset: Dataset) -> CappedCount:
    """All samples of the dataset, exact (see ``sample_counts``)."""
    return sample_counts([dataset.pk])[dataset.pk]


@dataclass(frozen=True)
class MapMasks:
    """Which rows of a map's points binary match a filter and a highlighted tag (``None``:
    not asked for)."""

    filter_mask: np.ndarray | None
    tag_mask: np.ndarray | None


def map_masks(
    *, dataset: Dataset, row_ids: np.ndarray, sample_filter: SampleFilter, tag: Tag | None
) -> MapMasks:
    """Row masks over ``row_ids`` (the map's sample ids, in row order) for the samples matching
    ``sample_filter`` (unless it is empty) and the members of ``tag``; one query each."""
    index = RowIndex(row_ids)  # binary search, no sort when the ids are ascending
    filter_mask = tag_mask = None
    if not sample_filter.is_empty:
        filter_mask = index.mask(matching_ids(filter_samples(dataset, sample_filter)))
    if tag is not None:
        tag_mask = index.mask(matching_ids(tag.memberships.all(), "sample_id"))
    return MapMasks(filter_mask=filter_mask, tag_mask=tag_mask)


_COPY_HEADER = 19  # PGCOPY signature (11) + flags (4) + header extension length (4)
_COPY_ROW = np.dtype([("fields", ">i2"), ("size", ">i4"), ("value", ">i8")])


def matching_ids(qs: QuerySet[Any], column: str = "pk") -> np.ndarray:
    """``column`` (a bigint) of every row of ``qs`` as an int64 array, in no particular order:
    one unordered query (no ``ORDER BY``, so PostgreSQL may hash-join and scan in parallel),
    streamed on PostgreSQL as binary ``COPY`` straight into numpy (no Python object per row)."""
    query = qs.order_by().values_list(column, flat=True)
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return np.fromiter(query, dtype=np.int64)
    sql, params = query.query.sql_with_params()
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT binary)"
        with cursor.cursor.copy(copy_sql, params) as copy:
            chunks.extend(bytes(block) for block in copy)
    data = b"".join(chunks)
    body = data[_COPY_HEADER:-2]  # without the header and the trailer (-1 as int16)
    rows = np.frombuffer(body, dtype=_COPY_ROW)
    if len(rows) and (np.any(rows["fields"] != 1) or np.any(rows["size"] != 8)):
        raise ValueError(f"COPY of {column!r} did not return one bigint per row.")
    return rows["value"].astype(np.int64)
