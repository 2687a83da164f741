"""The facet index's columns (``curation.browse.facet_index``): what each holds and how one
statement reads it.

Each read is one statement that returns one row: every column packed server-side into one
bytea (``string_agg(int8send(x), '')``), read with ``np.frombuffer``: no Python object and no
libpq call per row (binary COPY hands rows to Python one by one). All aggregates of a SELECT
see its rows in one order, so a row's values sit at the same place in every column; rows come
unordered (no sort) with their sample id and are placed by :func:`positions_of`, which raises
``StaleIndex`` for a sample the ids do not hold (a write happened in between).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from curation.models import Annotation, AnnotationTask, Sample, Tag, TagSample

MAX_VOCABULARY = 100_000

MISSING, STRING, TRUE, FALSE, NUMBER, INEXACT = 0, 1, 2, 3, 4, 5  # ``KeyColumn.kind``


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


# ---- reading the columns ---------------------------------------------------------------------
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


def sample_ids_read(dataset_id: int) -> np.ndarray:
    (packed,) = _row(
        f"SELECT string_agg(int8send(id), ''::bytea) FROM {_SAMPLES} WHERE dataset_id = %s",  # noqa: S608
        [dataset_id],
    )
    return np.sort(_unpack(packed, ">i8").astype(np.int64))


def key_columns_read(dataset_id: int, ids: np.ndarray, keys: list[str]) -> dict[str, KeyColumn]:
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
    row = _row(sql, [*keys, dataset_id])
    where = positions_of(ids, _unpack(row[0], ">i8"), every=True)
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


def empty_column(key: str, size: int) -> KeyColumn:
    return KeyColumn(
        key, np.zeros(size, np.int8), np.full(size, np.nan), np.full(size, -1, np.int32), (), True
    )


def _placed(values: np.ndarray, where: np.ndarray, fill: Any) -> np.ndarray:
    out = np.full(len(where), fill, dtype=values.dtype)
    out[where] = values
    return out


def label_columns_read(dataset_id: int, ids: np.ndarray) -> LabelColumns:
    tasks = list(AnnotationTask.objects.filter(dataset_id=dataset_id).values_list("pk", flat=True))
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
    position = positions_of(ids, _unpack(samples, ">i8"))
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


def tag_positions_read(dataset_id: int, ids: np.ndarray) -> dict[int, np.ndarray]:
    tags = list(Tag.objects.filter(dataset_id=dataset_id).values_list("pk", flat=True))
    tag_ids, samples = _row(
        f"SELECT string_agg(int8send(tag_id::int8), ''::bytea), "  # noqa: S608
        f"string_agg(int8send(sample_id), ''::bytea) FROM {TagSample._meta.db_table} "
        "WHERE tag_id = ANY(%s)",
        [tags],
    )
    tag_of = _unpack(tag_ids, ">i8").astype(np.int64)
    positions = positions_of(ids, _unpack(samples, ">i8"))
    order = np.argsort(tag_of, kind="stable")
    tag_of, positions = tag_of[order], positions[order]
    starts = np.flatnonzero(np.r_[True, tag_of[1:] != tag_of[:-1]]) if len(tag_of) else ()
    bounds: list[int] = [*(int(a) for a in starts), len(tag_of)]
    return {int(tag_of[a]): positions[a:b] for a, b in itertools.pairwise(bounds)}


def positions_of(ids: np.ndarray, sample_ids: np.ndarray, *, every: bool = False) -> np.ndarray:
    """Where each of ``sample_ids`` sits in the sorted ``ids``; ``every``: they must be all of
    them. Raises ``StaleIndex`` for a sample ``ids`` lacks (written since the ids were read)."""
    wanted = sample_ids.astype(np.int64)
    if every and len(wanted) != len(ids):
        raise StaleIndex
    positions = np.searchsorted(ids, wanted)
    if len(wanted) and (positions.max() >= len(ids) or not np.array_equal(ids[positions], wanted)):
        raise StaleIndex
    return positions.astype(np.int64)


class StaleIndex(Exception):
    """The rows changed while the index was being built (the caller answers in SQL)."""
