"""The facet index: a dataset's filterable columns as numpy arrays, so that the sidebar's facet
panels answer any filter at millions of samples in milliseconds (``curation.browse.facet_panels``).

What it holds, for one dataset at one data version (``DatasetCounts.version``: samples and
annotations), PostgreSQL only:

- ``ids``: every sample id, ascending; a sample is its position in this array;
- labels: the distinct (sample, task, label) triples of the dataset's annotation tasks;
- per metadata key, built when first needed (with the other keys the sidebar shows, in the same
  scan): the JSON type of ``metadata[key]`` per sample
  (missing/other, string, true, false, number), the number as float8 (as the SQL facets cast
  it) and the string as a code into the key's vocabulary;
- tag memberships, per tag, under ``DatasetCounts.tag_version`` (tagging does not invalidate the
  rest).

Invariants:
- Exact: every column is read from the database in one statement with each row's sample id,
  inside the version read before it (a write in between changes the version, and the next
  request builds again; a sample the index does not hold makes the build answer in SQL); a
  filter is evaluated on it with the filter language's own semantics
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
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, connections

from curation.browse.filter_cache import DataState, data_state
from curation.browse.selectors import metadata_fields
from curation.filter_metadata import typed_values
from curation.filters import SampleFilter, tag_ids_by_name
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample

logger = logging.getLogger(__name__)

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
    pending: set[str] = field(default_factory=set)  # columns queued for the builder
    stale: bool = False  # a build met rows newer than the index: never used again

    @property
    def size(self) -> int:
        return len(self.ids)

    def key(self, key: str) -> KeyColumn | None:
        """The column of ``key``; None while the builder reads it (queued now if needed)."""
        with self.lock:
            column = self.keys.get(key)
            if column is not None:
                self.keys.move_to_end(key)
                return column
        if "\x00" in key:  # no jsonb key holds NUL: nothing to read
            self._keep(key, _empty_column(key, self.size))
            return self.keys[key]
        if _background():
            _queue(self, f"key:{key}", lambda: self._keep(key, _key_columns(self, [key])[key]))
            return None
        self._keep(key, _key_columns(self, [key])[key])
        return self.keys[key]

    def _keep(self, key: str, column: KeyColumn) -> None:
        with self.lock:
            self.keys[key] = column
            self.keys.move_to_end(key)
            while len(self.keys) > KEEP_KEYS:
                self.keys.popitem(last=False)

    def label_columns(self) -> LabelColumns | None:
        """The label columns; None while the builder reads them (queued now if needed)."""
        if self.labels is not None:
            return self.labels
        if _background():
            _queue(self, "labels", lambda: setattr(self, "labels", _label_columns(self)))
            return None
        self.labels = _label_columns(self)
        return self.labels

    def tag_positions(self, state: DataState) -> dict[int, np.ndarray]:
        """Every tag's members (read at once: an indexed read of the memberships)."""
        with self.lock:
            if self.tags is None or self.tags[0] != state.tag_version:
                self.tags = (state.tag_version, _tag_positions(self))
            return self.tags[1]


_INDEXES: OrderedDict[int, FacetIndex] = OrderedDict()
_INDEXES_LOCK = threading.Lock()
_BUILDER: ThreadPoolExecutor | None = None


def _background() -> bool:
    return bool(settings.CURATION_FACET_INDEX_BACKGROUND)


def _queue(index: FacetIndex, what: str, build: Callable[[], None]) -> None:
    """Run ``build`` on the process's one builder thread, once per index and column."""
    global _BUILDER
    with index.lock:
        if what in index.pending or index.stale:
            return
        index.pending.add(what)
    with _INDEXES_LOCK:
        if _BUILDER is None:
            _BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facet-index")
        builder = _BUILDER
    builder.submit(_run_build, index, what, build)


def _run_build(index: FacetIndex, what: str, build: Callable[[], None]) -> None:
    try:
        if not index.stale:
            build()
    except _Stale:
        index.stale = True
        with _INDEXES_LOCK:
            if _INDEXES.get(index.dataset_id) is index:
                del _INDEXES[index.dataset_id]
    except Exception:  # the panels answer in SQL meanwhile; say why the index is missing
        logger.exception(
            "Building the facet index (%s) of dataset %s failed.", what, index.dataset_id
        )
    finally:
        with index.lock:
            index.pending.discard(what)
        connections.close_all()  # this thread's connections only


def facet_index_wait() -> None:
    """Wait until the builder thread has nothing left to read (tests, benchmarks)."""
    while True:
        with _INDEXES_LOCK:
            builder = _BUILDER
            busy = bool(_QUEUED) or any(index.pending for index in _INDEXES.values())
        if builder is None:
            return
        builder.submit(lambda: None).result()
        if not busy:
            return


def facet_index(
    dataset: Dataset, state: DataState | None = None, *, build: bool = True
) -> FacetIndex | None:
    """The dataset's index at its current version; None where the index does not apply (see
    the module docstring) or is not built yet: ``build`` queues it for the builder thread (the
    sample ids, then the labels and the sidebar's keys), or reads the ids in this request when
    ``CURATION_FACET_INDEX_BACKGROUND`` is off."""
    state = state if state is not None else data_state(dataset)
    if state is None or not state.cacheable or connection.vendor != "postgresql":
        return None
    if state.samples < settings.CURATION_FACET_INDEX_MIN_SAMPLES:
        return None
    with _INDEXES_LOCK:
        found = _INDEXES.get(dataset.pk)
        if found is not None and found.version == state.version and not found.stale:
            _INDEXES.move_to_end(dataset.pk)
            return found
    if not build:
        return None
    if _background():  # the ids and the sidebar's columns, on the builder thread
        keys = [f.key for f in metadata_fields(dataset)[: KEEP_KEYS // 2]]
        _queue_index(dataset.pk, state.version, keys)
        return None
    return _new_index(dataset.pk, state.version)


def _new_index(dataset_id: int, version: int) -> FacetIndex:
    """Read the ids and publish the index (its columns follow as they are needed)."""
    index = FacetIndex(dataset_id=dataset_id, version=version, ids=_sample_ids(dataset_id))
    with _INDEXES_LOCK:
        found = _INDEXES.get(dataset_id)
        if found is not None and found.version == version and not found.stale:
            return found  # another request built it meanwhile
        _INDEXES[dataset_id] = index
        _INDEXES.move_to_end(dataset_id)
        while len(_INDEXES) > KEEP_DATASETS:
            _INDEXES.popitem(last=False)
    return index


_QUEUED: set[tuple[int, int]] = set()  # (dataset, version) whose index the builder is reading


def _queue_index(dataset_id: int, version: int, keys: list[str]) -> None:
    global _BUILDER
    with _INDEXES_LOCK:
        if (dataset_id, version) in _QUEUED:
            return
        _QUEUED.add((dataset_id, version))
        if _BUILDER is None:
            _BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facet-index")
        builder = _BUILDER

    def build() -> None:
        try:
            index = _new_index(dataset_id, version)
            index.label_columns()  # queued behind this build
            for key in keys:
                index.key(key)
        except Exception:  # the panels answer in SQL meanwhile; say why the index is missing
            logger.exception("Building the facet index of dataset %s failed.", dataset_id)
        finally:
            with _INDEXES_LOCK:
                _QUEUED.discard((dataset_id, version))
            connections.close_all()  # this thread's connections only

    builder.submit(build)


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
        if columns is None:
            return None
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
    if column is None:
        return None
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
    if column is None or not column.numbers_exact:
        return None
    matched = column.kind == NUMBER
    with np.errstate(invalid="ignore"):
        if low is not None:
            matched &= column.number >= low
        if high is not None:
            matched &= column.number <= high
    return matched


# ---- building the columns ---------------------------------------------------------------------
# Each build is one statement that returns one row: every column packed server-side into one
# bytea (``string_agg(int8send(x), '')``), read with ``np.frombuffer``: no Python object and no
# libpq call per row (binary COPY hands rows to Python one by one). All aggregates of a SELECT
# see its rows in one order, so a row's values sit at the same place in every column; rows come
# unordered (no sort) with their sample id, and are placed by ``_positions``.
_SAMPLES = Sample._meta.db_table
_KIND = f"""(CASE jsonb_typeof({{j}})
    WHEN 'string' THEN {STRING}
    WHEN 'boolean' THEN CASE WHEN {{j}} = 'true'::jsonb THEN {TRUE} ELSE {FALSE} END
    WHEN 'number' THEN CASE WHEN (({{j}})::float8)::text::numeric = ({{j}})::numeric
                            THEN {NUMBER} ELSE {INEXACT} END
    ELSE {MISSING} END)::int2"""
_NUMBER = "COALESCE(CASE WHEN jsonb_typeof({j}) = 'number' THEN ({j})::float8 END, 'NaN'::float8)"


def _row(sql: str, params: list[Any]) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    return tuple(row)


def _unpack(value: Any, dtype: str) -> np.ndarray:
    return np.frombuffer(bytes(value or b""), dtype=dtype)


def _sample_ids(dataset_id: int) -> np.ndarray:
    (packed,) = _row(
        f"SELECT string_agg(int8send(id), ''::bytea) FROM {_SAMPLES} WHERE dataset_id = %s",  # noqa: S608
        [dataset_id],
    )
    return np.sort(_unpack(packed, ">i8").astype(np.int64))


def _key_columns(index: FacetIndex, keys: list[str]) -> dict[str, KeyColumn]:
    """The columns of ``keys`` (no NUL in any) in one scan of the dataset's samples."""
    m = len(keys)
    pulled = ", ".join(f"metadata -> %s AS j{i}" for i in range(m))
    vocab = "".join(
        f""", v{i} AS (
            SELECT t, (row_number() OVER () - 1)::int4 AS code FROM (
                SELECT DISTINCT j{i} #>> '{{}}' AS t FROM x WHERE jsonb_typeof(j{i}) = 'string'
                LIMIT {MAX_VOCABULARY + 1}) AS d)"""  # noqa: S608 (numbered aliases)
        for i in range(m)
    )
    columns = ", ".join(
        f"string_agg(int2send({_KIND.format(j=f'x.j{i}')}), ''::bytea), "  # noqa: S608
        f"string_agg(float8send({_NUMBER.format(j=f'x.j{i}')}), ''::bytea), "
        f"string_agg(int4send(COALESCE(v{i}.code, -1)), ''::bytea), "
        f"(SELECT array_agg(t ORDER BY code) FROM v{i})"
        for i in range(m)
    )
    joins = " ".join(
        f"LEFT JOIN v{i} ON jsonb_typeof(x.j{i}) = 'string' AND v{i}.t = x.j{i} #>> '{{}}'"
        for i in range(m)
    )
    sql = f"""
        WITH x AS MATERIALIZED (SELECT id, {pulled} FROM {_SAMPLES} WHERE dataset_id = %s)
        {vocab}
        SELECT string_agg(int8send(x.id), ''::bytea), {columns} FROM x {joins}
    """  # noqa: S608 (constants, the table name and numbered aliases; keys are parameters)
    row = _row(sql, [*keys, index.dataset_id])
    where = _positions(index, _unpack(row[0], ">i8"), every=True)
    found = {}
    for i, key in enumerate(keys):
        kind, number, code, words = row[1 + 4 * i : 5 + 4 * i]
        vocabulary = tuple(words or ())
        complete = len(vocabulary) <= MAX_VOCABULARY
        found[key] = KeyColumn(
            key=key,
            kind=_placed(_unpack(kind, ">i2").astype(np.int8), where, MISSING),
            number=_placed(_unpack(number, ">f8").astype(np.float64), where, np.nan),
            code=_placed(_unpack(code, ">i4").astype(np.int32), where, -1),
            vocabulary=vocabulary if complete else (),
            complete=complete,
        )
    return found


def _empty_column(key: str, size: int) -> KeyColumn:
    return KeyColumn(
        key, np.zeros(size, np.int8), np.full(size, np.nan), np.full(size, -1, np.int32), (), True
    )


def _placed(values: np.ndarray, where: np.ndarray, fill: Any) -> np.ndarray:
    out = np.full(len(where), fill, dtype=values.dtype)
    out[where] = values
    return out


def _label_columns(index: FacetIndex) -> LabelColumns:
    tasks = list(
        AnnotationTask.objects.filter(dataset_id=index.dataset_id).values_list("pk", flat=True)
    )
    sql = f"""
        WITH v AS (
            SELECT t, (row_number() OVER () - 1)::int4 AS code FROM (
                SELECT DISTINCT label AS t FROM {Annotation._meta.db_table}
                WHERE task_id = ANY(%s)) AS d)
        SELECT string_agg(int8send(a.sample_id), ''::bytea),
               string_agg(int8send(a.task_id::int8), ''::bytea),
               string_agg(int4send(v.code), ''::bytea),
               (SELECT array_agg(t ORDER BY code) FROM v)
        FROM {Annotation._meta.db_table} a JOIN v ON v.t = a.label
        WHERE a.task_id = ANY(%s)
    """  # noqa: S608 (table names from the models)
    samples, task_ids, codes, words = _row(sql, [tasks, tasks])
    labels = tuple(words or ())
    position = _positions(index, _unpack(samples, ">i8"))
    task = _unpack(task_ids, ">i8").astype(np.int64)
    label = _unpack(codes, ">i4").astype(np.int64)
    # distinct (sample, task, label): a sample with three boxes of a class counts once
    task_codes = np.searchsorted(np.asarray(sorted(tasks), dtype=np.int64), task)
    width_label = max(len(labels), 1)
    width = max(len(tasks), 1) * width_label
    _, first = np.unique(position * width + task_codes * width_label + label, return_index=True)
    return LabelColumns(
        position=position[first],
        task=task[first],
        label=label[first].astype(np.int32),
        labels=labels,
    )


def _tag_positions(index: FacetIndex) -> dict[int, np.ndarray]:
    tags = list(Tag.objects.filter(dataset_id=index.dataset_id).values_list("pk", flat=True))
    tag_ids, samples = _row(
        f"SELECT string_agg(int8send(tag_id::int8), ''::bytea), "  # noqa: S608
        f"string_agg(int8send(sample_id), ''::bytea) FROM {TagSample._meta.db_table} "
        "WHERE tag_id = ANY(%s)",
        [tags],
    )
    tag_of = _unpack(tag_ids, ">i8").astype(np.int64)
    positions = _positions(index, _unpack(samples, ">i8"))
    order = np.argsort(tag_of, kind="stable")
    tag_of, positions = tag_of[order], positions[order]
    starts = np.flatnonzero(np.r_[True, tag_of[1:] != tag_of[:-1]]) if len(tag_of) else ()
    bounds: list[int] = [*(int(a) for a in starts), len(tag_of)]
    return {int(tag_of[a]): positions[a:b] for a, b in itertools.pairwise(bounds)}


def _positions(index: FacetIndex, sample_ids: np.ndarray, *, every: bool = False) -> np.ndarray:
    """Where each of ``sample_ids`` sits in ``index.ids``; ``every``: they must be all of them.
    Raises ``_Stale`` for a sample the index does not hold (written since the ids were read)."""
    ids = sample_ids.astype(np.int64)
    if every and len(ids) != index.size:
        raise _Stale
    positions = np.searchsorted(index.ids, ids)
    if len(ids) and (
        positions.max() >= index.size or not np.array_equal(index.ids[positions], ids)
    ):
        raise _Stale
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
