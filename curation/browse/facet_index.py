"""The facet index: a dataset's filterable columns as numpy arrays, so that the sidebar's facet
panels answer any filter at millions of samples in milliseconds (``curation.browse.facet_panels``).

What it holds, for one dataset at one data version (``DatasetCounts.version``: samples and
annotations), PostgreSQL only:

- ``ids``: every sample id, ascending; a sample is its position in this array;
- labels: the distinct (sample, task, label) triples of the dataset's annotation tasks;
- per metadata key, built when first needed: the JSON type of ``metadata[key]`` per sample
  (missing/other, string, true, false, number), the number as float8 (as the SQL facets cast
  it) and the string as a code into the key's vocabulary;
- tag memberships, per tag, under ``DatasetCounts.tag_version`` (tagging does not invalidate the
  rest).

Invariants:
- Exact: every column is read from the database in one statement ordered by id, inside the
  version read before it (a write in between changes the version, and the next request builds
  again); a filter is evaluated on it with the filter language's own semantics
  (``curation.filter_metadata``), checked against the SQL path by ``tests/browse``.
- Whatever the index cannot answer exactly goes back to SQL (:func:`index_mask` returns None):
  file-name search, sizes, videos and frames, map regions, text and similarity; a key whose
  strings are too many to keep (``MAX_VOCABULARY``); number conditions on a key holding a number
  that float8 does not represent exactly (``metadata @> '{"k": 9007199254740993}'`` is exact
  numeric equality).
- Kept per process for the ``KEEP_DATASETS`` most recently used datasets, only for datasets of
  at least ``CURATION_FACET_INDEX_MIN_SAMPLES`` samples (smaller ones are fast in SQL); never
  inside a transaction that has written (its rows may be rolled back), never on SQLite.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from curation.browse.filter_cache import DataState, data_state
from curation.filter_metadata import typed_values
from curation.filters import SampleFilter, tag_ids_by_name
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample

KEEP_DATASETS = 2
KEEP_KEYS = 32
MAX_VOCABULARY = 100_000

MISSING, STRING, TRUE, FALSE, NUMBER, INEXACT = 0, 1, 2, 3, 4, 5  # ``KeyColumn.kind``
_HEADER = 19  # PGCOPY signature, flags and header extension length


@dataclass(frozen=True)
class KeyColumn:
    """``metadata[key]`` of every sample: its kind, its number (NaN unless a number) and its
    string's code into ``vocabulary`` (-1 unless a string)."""

    key: str
    kind: np.ndarray  # int8 per sample
    number: np.ndarray  # float64 per sample
    code: np.ndarray  # int32 per sample
    vocabulary: tuple[str, ...]
    complete: bool  # every string has a code (False: over MAX_VOCABULARY distinct strings)

    @property
    def numbers_exact(self) -> bool:
        return not bool(np.any(self.kind == INEXACT))

    def is_number(self) -> np.ndarray:
        return (self.kind == NUMBER) | (self.kind == INEXACT)


@dataclass(frozen=True)
class LabelColumns:
    """The distinct (sample position, task, label code) triples of the dataset's tasks."""

    position: np.ndarray  # int64
    task: np.ndarray  # int64 task id
    label: np.ndarray  # int32 code into ``labels``
    labels: tuple[str, ...]


@dataclass
class FacetIndex:
    dataset_id: int
    version: int
    ids: np.ndarray
    lock: threading.Lock = field(default_factory=threading.Lock)
    keys: OrderedDict[str, KeyColumn] = field(default_factory=OrderedDict)
    labels: LabelColumns | None = None
    tags: tuple[int, dict[int, np.ndarray]] | None = None  # (tag_version, tag id -> positions)

    @property
    def size(self) -> int:
        return len(self.ids)

    def key(self, key: str) -> KeyColumn:
        with self.lock:
            column = self.keys.get(key)
            if column is None:
                column = _key_column(self, key)
                self.keys[key] = column
                while len(self.keys) > KEEP_KEYS:
                    self.keys.popitem(last=False)
            self.keys.move_to_end(key)
            return column

    def label_columns(self) -> LabelColumns:
        with self.lock:
            if self.labels is None:
                self.labels = _label_columns(self)
            return self.labels

    def tag_positions(self, state: DataState) -> dict[int, np.ndarray]:
        with self.lock:
            if self.tags is None or self.tags[0] != state.tag_version:
                self.tags = (state.tag_version, _tag_positions(self))
            return self.tags[1]


_INDEXES: OrderedDict[int, FacetIndex] = OrderedDict()
_INDEXES_LOCK = threading.Lock()
_BUILDING: dict[int, threading.Lock] = {}


def facet_index(
    dataset: Dataset, state: DataState | None = None, *, build: bool = True
) -> FacetIndex | None:
    """The dataset's index at its current version, built if needed (``build``; otherwise only
    one already built); None where the index does not apply (see the module docstring).
    Concurrent requests for a dataset share one build."""
    state = state if state is not None else data_state(dataset)
    if state is None or not state.cacheable or connection.vendor != "postgresql":
        return None
    if state.samples < settings.CURATION_FACET_INDEX_MIN_SAMPLES:
        return None
    with _INDEXES_LOCK:
        found = _INDEXES.get(dataset.pk)
        if found is not None and found.version == state.version:
            _INDEXES.move_to_end(dataset.pk)
            return found
        if not build:
            return None
        building = _BUILDING.setdefault(dataset.pk, threading.Lock())
    with building:
        with _INDEXES_LOCK:
            found = _INDEXES.get(dataset.pk)
            if found is not None and found.version == state.version:
                return found
        index = FacetIndex(
            dataset_id=dataset.pk, version=state.version, ids=_sample_ids(dataset.pk)
        )
        with _INDEXES_LOCK:
            _INDEXES[dataset.pk] = index
            _INDEXES.move_to_end(dataset.pk)
            while len(_INDEXES) > KEEP_DATASETS:
                _INDEXES.popitem(last=False)
    return index


def facet_index_clear() -> None:
    """Forget every index of this process (tests)."""
    with _INDEXES_LOCK:
        _INDEXES.clear()


# ---- evaluating a filter ----------------------------------------------------------------------
def index_supports(sample_filter: SampleFilter) -> bool:
    f = sample_filter
    return not (f.q or f.sizes or f.videos or f.frames or f.regions or f.text or f.similar_to)


def index_mask(
    index: FacetIndex, dataset: Dataset, sample_filter: SampleFilter, state: DataState
) -> np.ndarray | None:
    """The samples matching ``sample_filter`` as a boolean array over ``index.ids``, exactly as
    ``curation.filters.filter_samples`` selects them; None when the index cannot tell (the
    caller asks SQL). Unknown tags raise ``FilterError`` as the SQL path does."""
    f = sample_filter
    if not index_supports(f):
        return None
    mask = np.ones(index.size, dtype=bool)
    if f.tags or f.exclude_tags:
        names = tag_ids_by_name(dataset, (*f.tags, *f.exclude_tags))  # unknown: FilterError
        positions = index.tag_positions(state)
        if f.tags:
            mask &= _members(index.size, [positions.get(names[t]) for t in f.tags])
        if f.exclude_tags:
            mask &= ~_members(index.size, [positions.get(names[t]) for t in f.exclude_tags])
    if f.labels or f.task:
        columns = index.label_columns()
        keep = np.ones(len(columns.position), dtype=bool)
        if f.task:
            tasks = AnnotationTask.objects.filter(dataset=dataset, name=f.task)
            keep &= np.isin(columns.task, list(tasks.values_list("pk", flat=True)))
        if f.labels:
            codes = [i for i, label in enumerate(columns.labels) if label in set(f.labels)]
            keep &= np.isin(columns.label, codes)
        mask &= _members(index.size, [columns.position[keep]])
    for key, values in f.values:
        matched = _values_mask(index, key, values)
        if matched is None:
            return None
        mask &= matched
    for key, low, high in f.ranges:
        matched = _range_mask(index, key, low, high)
        if matched is None:
            return None
        mask &= matched
    return mask


def _members(size: int, groups: list[np.ndarray | None]) -> np.ndarray:
    inside = np.zeros(size, dtype=bool)
    for positions in groups:
        if positions is not None:
            inside[positions] = True
    return inside


def _values_mask(index: FacetIndex, key: str, values: tuple[str, ...]) -> np.ndarray | None:
    if "\x00" in key:
        return np.zeros(index.size, dtype=bool)
    column = index.key(key)
    matched = np.zeros(index.size, dtype=bool)
    for item in (t for value in values for t in typed_values(value)):
        if isinstance(item, bool):
            matched |= column.kind == (TRUE if item else FALSE)
        elif isinstance(item, int | float):
            if not column.numbers_exact:
                return None
            matched |= (column.kind == NUMBER) & (column.number == float(item))
        elif "\x00" not in item:
            if not column.complete:
                return None
            if item in column.vocabulary:
                matched |= column.code == column.vocabulary.index(item)
    return matched


def _range_mask(
    index: FacetIndex, key: str, low: float | None, high: float | None
) -> np.ndarray | None:
    if low is None and high is None:
        return np.ones(index.size, dtype=bool)
    if "\x00" in key:
        return np.zeros(index.size, dtype=bool)
    column = index.key(key)
    if not column.numbers_exact:
        return None
    matched = column.kind == NUMBER
    with np.errstate(invalid="ignore"):
        if low is not None:
            matched &= column.number >= low
        if high is not None:
            matched &= column.number <= high
    return matched


# ---- building the columns (one ordered statement each, streamed as binary COPY) --------------
def _copy(sql: str, params: list[Any], dtype: np.dtype) -> np.ndarray:
    """Rows of fixed-size, never-NULL columns; ``dtype`` spells each field with its size."""
    copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT binary)"
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql, params) as copy:
        data = b"".join(bytes(block) for block in copy)
    rows = np.frombuffer(data[_HEADER:-2], dtype=dtype)
    sizes = [name for name in dtype.names or () if name.startswith("size")]
    for name in sizes:
        width = dtype.fields[name.replace("size", "value")][0].itemsize  # type: ignore[index]
        if len(rows) and np.any(rows[name] != width):
            raise ValueError("COPY returned a value of an unexpected size.")
    return rows


def _fields(*types: str) -> np.dtype:
    parts: list[tuple[str, str]] = [("fields", ">i2")]
    for i, kind in enumerate(types):
        parts += [(f"size{i}", ">i4"), (f"value{i}", kind)]
    return np.dtype(parts)


_SAMPLES = Sample._meta.db_table


def _sample_ids(dataset_id: int) -> np.ndarray:
    sql = f"SELECT id FROM {_SAMPLES} WHERE dataset_id = %s ORDER BY id"  # noqa: S608
    return _copy(sql, [dataset_id], _fields(">i8"))["value0"].astype(np.int64)


def _key_column(index: FacetIndex, key: str) -> KeyColumn:
    if "\x00" in key:  # no jsonb key holds NUL: nothing to read
        size = index.size
        return KeyColumn(
            key,
            np.zeros(size, np.int8),
            np.full(size, np.nan),
            np.full(size, -1, np.int32),
            (),
            True,
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT metadata ->> %s FROM {_SAMPLES} "  # noqa: S608
            f"WHERE dataset_id = %s AND jsonb_typeof(metadata -> %s) = 'string' LIMIT %s",
            [key, index.dataset_id, key, MAX_VOCABULARY + 1],
        )
        vocabulary = tuple(row[0] for row in cursor.fetchall())
    complete = len(vocabulary) <= MAX_VOCABULARY
    vocabulary = vocabulary[:MAX_VOCABULARY] if complete else ()
    sql = f"""
        SELECT s.id, (CASE jsonb_typeof(s.metadata -> %s)
                    WHEN 'string' THEN {STRING}
                    WHEN 'boolean' THEN CASE WHEN (s.metadata -> %s) = 'true'::jsonb
                                             THEN {TRUE} ELSE {FALSE} END
                    WHEN 'number' THEN CASE WHEN ((s.metadata ->> %s)::float8)::text::numeric
                                                 = (s.metadata ->> %s)::numeric
                                            THEN {NUMBER} ELSE {INEXACT} END
                    ELSE {MISSING} END)::int2,
               COALESCE(CASE WHEN jsonb_typeof(s.metadata -> %s) = 'number'
                             THEN (s.metadata ->> %s)::float8 END, 'NaN'::float8),
               COALESCE(v.code - 1, -1)::int4
        FROM {_SAMPLES} s
        LEFT JOIN unnest(%s::text[]) WITH ORDINALITY AS v(text, code)
               ON jsonb_typeof(s.metadata -> %s) = 'string' AND v.text = s.metadata ->> %s
        WHERE s.dataset_id = %s ORDER BY s.id
    """  # noqa: S608 (constants and the table name; the key is a parameter)
    params = [key] * 6 + [list(vocabulary), key, key, index.dataset_id]
    rows = _copy(sql, params, _fields(">i8", ">i2", ">f8", ">i4"))
    if not np.array_equal(rows["value0"], index.ids):  # written since the ids were read
        raise _Stale
    return KeyColumn(
        key=key,
        kind=rows["value1"].astype(np.int8),
        number=rows["value2"].astype(np.float64),
        code=rows["value3"].astype(np.int32),
        vocabulary=vocabulary,
        complete=complete,
    )


def _label_columns(index: FacetIndex) -> LabelColumns:
    tasks = list(
        AnnotationTask.objects.filter(dataset_id=index.dataset_id).values_list("pk", flat=True)
    )
    table = Annotation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT label FROM {table} WHERE task_id = ANY(%s)",  # noqa: S608
            [tasks],
        )
        labels = tuple(sorted(row[0] for row in cursor.fetchall()))
    sql = f"""
        SELECT DISTINCT a.sample_id, a.task_id::int8, (v.code - 1)::int4
        FROM {table} a JOIN unnest(%s::text[]) WITH ORDINALITY AS v(text, code)
             ON v.text = a.label
        WHERE a.task_id = ANY(%s)
    """  # noqa: S608 (table name from the model)
    rows = _copy(sql, [list(labels), tasks], _fields(">i8", ">i8", ">i4"))
    return LabelColumns(
        position=_positions(index, rows["value0"]),
        task=rows["value1"].astype(np.int64),
        label=rows["value2"].astype(np.int32),
        labels=labels,
    )


def _tag_positions(index: FacetIndex) -> dict[int, np.ndarray]:
    tags = list(Tag.objects.filter(dataset_id=index.dataset_id).values_list("pk", flat=True))
    sql = (
        f"SELECT tag_id::int8, sample_id FROM {TagSample._meta.db_table} "  # noqa: S608
        "WHERE tag_id = ANY(%s) ORDER BY tag_id"
    )
    rows = _copy(sql, [tags], _fields(">i8", ">i8"))
    tag_ids = rows["value0"].astype(np.int64)
    positions = _positions(index, rows["value1"])
    starts = np.flatnonzero(np.r_[True, tag_ids[1:] != tag_ids[:-1]]) if len(rows) else ()
    bounds: list[int] = [*(int(a) for a in starts), len(rows)]
    return {int(tag_ids[a]): positions[a:b] for a, b in itertools.pairwise(bounds)}


def _positions(index: FacetIndex, sample_ids: np.ndarray) -> np.ndarray:
    ids = sample_ids.astype(np.int64)
    positions = np.searchsorted(index.ids, ids)
    inside = positions < index.size
    if not np.all(inside) or not np.array_equal(index.ids[positions], ids):
        raise _Stale  # a row of a sample the index does not hold: written since
    return positions.astype(np.int64)


class _Stale(Exception):
    """The rows changed while the index was being built (the caller answers in SQL)."""


def with_index[T](
    dataset: Dataset,
    sample_filter: SampleFilter,
    answer: Callable[[FacetIndex, DataState], T],
    *,
    build: bool = True,
) -> T | None:
    """``answer(index, state)`` when the index applies to this filter (and is built, unless
    ``build``), else None; a build that raced a write answers None too (SQL then counts the
    new rows)."""
    if not index_supports(sample_filter):
        return None
    state = data_state(dataset)
    try:
        index = facet_index(dataset, state, build=build)
        if index is None or state is None:
            return None
        return answer(index, state)
    except _Stale:
        with _INDEXES_LOCK:
            _INDEXES.pop(dataset.pk, None)
        return None


def index_count(dataset: Dataset, sample_filter: SampleFilter) -> int | None:
    """How many samples match, from an index already built (never builds one); else None."""

    def answer(index: FacetIndex, state: DataState) -> int | None:
        mask = index_mask(index, dataset, sample_filter, state)
        return None if mask is None else int(mask.sum())

    return with_index(dataset, sample_filter, answer, build=False)
