"""The facet index: a dataset's filterable columns as numpy arrays, so that the sidebar's facet
panels answer any filter at millions of samples in milliseconds (``curation.browse.facet_panels``).

What it holds, for one dataset at one data version (``DatasetCounts.version``: samples and
annotations), PostgreSQL only:

- ``ids``: every sample id, ascending; a sample is its position in this array;
- labels: the distinct (sample, task, label) triples of the dataset's annotation tasks;
- per metadata key (the sidebar's keys with the index, any other when first needed): the JSON
  type of ``metadata[key]`` per sample (missing/other, string, true, false, number), the number
  as float8 (as the SQL facets cast it) and the string as a code into the key's vocabulary;
- tag memberships, per tag, under ``DatasetCounts.tag_version`` (tagging does not invalidate the
  rest).

Where it comes from: an import's last step (:func:`facet_index_prepare`) reads the ids, labels
and the sidebar's keys in one snapshot (``curation.browse.facet_snapshot``) and stores them on
disk for every process; a process without the current version loads that file, or else queues
the same read on its builder thread and answers in SQL meanwhile.

Invariants:
- Exact: a snapshot's columns are exactly its version (``REPEATABLE READ``); a column read
  later comes in one statement with each row's sample id, and a sample the index does not hold
  (a write in between) drops the index and the request answers in SQL. A filter is evaluated
  on it with the filter language's own semantics (``curation.filter_metadata``), checked
  against the SQL path by ``tests/browse``.
- Whatever the index cannot answer exactly goes back to SQL (:func:`index_mask` returns None):
  file-name search, sizes, videos and frames, map regions, text and similarity; a key whose
  strings are too many to keep (``MAX_VOCABULARY``); number conditions on a key holding a number
  that float8 does not represent exactly (``metadata @> '{"k": 9007199254740993}'`` is exact
  numeric equality).
- Kept in memory per process for the ``KEEP_DATASETS`` most recently used datasets, only for
  datasets of at least ``CURATION_FACET_INDEX_MIN_SAMPLES`` samples (smaller ones are fast in
  SQL); never inside a transaction that has written (its rows may be rolled back), never on
  SQLite.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, connections

from curation.browse.facet_columns import (
    FALSE,
    NUMBER,
    TRUE,
    KeyColumn,
    LabelColumns,
    StaleIndex,
    empty_column,
    key_columns_read,
    label_columns_read,
    tag_positions_read,
)
from curation.browse.facet_snapshot import Snapshot, snapshot_load, snapshot_read, snapshot_save
from curation.browse.filter_cache import DataState, data_state
from curation.browse.selectors import metadata_fields
from curation.filter_metadata import typed_values
from curation.filters import SampleFilter, tag_ids_by_name
from curation.models import AnnotationTask, Dataset

logger = logging.getLogger(__name__)

KEEP_DATASETS = 2
KEEP_KEYS = 32


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
            self._keep(key, empty_column(key, self.size))
            return self.keys[key]
        if _background():
            _queue(
                self,
                f"key:{key}",
                lambda: self._keep(key, key_columns_read(self.dataset_id, self.ids, [key])[key]),
            )
            return None
        self._keep(key, self._read(key))
        return self.keys[key]

    def _read(self, key: str) -> KeyColumn:
        return key_columns_read(self.dataset_id, self.ids, [key])[key]

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
            _queue(
                self,
                "labels",
                lambda: setattr(self, "labels", label_columns_read(self.dataset_id, self.ids)),
            )
            return None
        self._read_labels()
        return self.labels

    def _read_labels(self) -> None:
        self.labels = label_columns_read(self.dataset_id, self.ids)

    def tag_positions(self, state: DataState) -> dict[int, np.ndarray]:
        """Every tag's members (read at once: an indexed read of the memberships)."""
        with self.lock:
            if self.tags is None or self.tags[0] != state.tag_version:
                self.tags = (state.tag_version, tag_positions_read(self.dataset_id, self.ids))
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
    except StaleIndex:
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
    stored = snapshot_load(dataset.pk, state.version)  # an import built it: read it from disk
    if stored is not None:
        return _publish(dataset.pk, stored)
    keys = _sidebar_keys(dataset)
    if _background():  # the ids, labels and the sidebar's keys, on the builder thread
        _queue_index(dataset.pk, state.version, keys)
        return None
    return _publish(dataset.pk, snapshot_read(dataset.pk, []))


def _sidebar_keys(dataset: Dataset) -> list[str]:
    return [f.key for f in metadata_fields(dataset) if "\x00" not in f.key][: KEEP_KEYS // 2]


def _publish(dataset_id: int, snapshot: Snapshot) -> FacetIndex:
    """The index of ``snapshot`` as this process's index of the dataset (unless another
    request published one of that version meanwhile)."""
    index = FacetIndex(
        dataset_id=dataset_id,
        version=snapshot.version,
        ids=snapshot.ids,
        labels=snapshot.labels,
        keys=OrderedDict(snapshot.keys),
    )
    with _INDEXES_LOCK:
        found = _INDEXES.get(dataset_id)
        if found is not None and found.version == snapshot.version and not found.stale:
            return found
        _INDEXES[dataset_id] = index
        _INDEXES.move_to_end(dataset_id)
        while len(_INDEXES) > KEEP_DATASETS:
            _INDEXES.popitem(last=False)
    return index


def facet_index_prepare(dataset: Dataset) -> bool:
    """Read the dataset's index in one snapshot, keep it in this process and store it for
    every other (an import's last step, after its rows committed; best effort: False and a log
    line when it could not). Nothing for datasets the index does not apply to."""
    state = data_state(dataset)
    if state is None or not state.cacheable or connection.vendor != "postgresql":
        return False
    if state.samples < settings.CURATION_FACET_INDEX_MIN_SAMPLES:
        return False
    try:
        snapshot = snapshot_read(dataset.pk, _sidebar_keys(dataset))
        _publish(dataset.pk, snapshot)
        snapshot_save(dataset.pk, snapshot)
    except Exception:
        logger.exception("Preparing the facet index of dataset %s failed.", dataset.pk)
        return False
    return True


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
            snapshot = snapshot_read(dataset_id, keys)
            _publish(dataset_id, snapshot)
            snapshot_save(dataset_id, snapshot)  # for the other processes
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
    except StaleIndex:
        with _INDEXES_LOCK:
            _INDEXES.pop(dataset.pk, None)
        return None


def index_count(dataset: Dataset, sample_filter: SampleFilter) -> int | None:
    """How many samples match, from an index already built (never builds one); else None."""

    def answer(index: FacetIndex, state: DataState) -> int | None:
        mask = index_mask(index, dataset, sample_filter, state)
        return None if mask is None else int(mask.sum())

    return with_index(dataset, sample_filter, answer, build=False)
