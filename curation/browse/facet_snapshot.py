"""A facet index read in one consistent snapshot, and kept on disk for every process
(``curation.browse.facet_index``; files: ``curation.storage.facet_files``).

:func:`snapshot_read` reads the sample ids, the label triples and the given keys' columns in one
``REPEATABLE READ`` transaction together with the data version they belong to, so the columns
are exactly that version (no write can fall between two of its statements). Inside a
transaction already open (tests, callers that wrote) it reads them statement by statement and
relies on ``StaleIndex`` instead. :func:`snapshot_save` / :func:`snapshot_load` turn the columns
into plain arrays and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction

from curation.browse.facet_columns import (
    KeyColumn,
    LabelColumns,
    key_columns_read,
    label_columns_read,
    sample_ids_read,
)
from curation.models.datasets import DatasetCounts
from curation.storage.facet_files import facet_file_read, facet_file_write


@dataclass
class Snapshot:
    version: int
    ids: np.ndarray
    labels: LabelColumns
    keys: dict[str, KeyColumn] = field(default_factory=dict)


def snapshot_read(dataset_id: int, keys: list[str]) -> Snapshot:
    """The dataset's ids, labels and ``keys`` (none holding NUL) as of one data version."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:  # the first statement of the transaction
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(
                f"SELECT COALESCE(version, 0) FROM {DatasetCounts._meta.db_table} "  # noqa: S608
                "WHERE dataset_id = %s",
                [dataset_id],
            )
            row = cursor.fetchone()
        ids = sample_ids_read(dataset_id)
        snapshot = Snapshot(
            version=int(row[0]) if row else 0,
            ids=ids,
            labels=label_columns_read(dataset_id, ids),
        )
        for key in keys:
            snapshot.keys[key] = key_columns_read(dataset_id, ids, [key])[key]
    return snapshot


def snapshot_save(dataset_id: int, snapshot: Snapshot) -> None:
    arrays = {
        "ids": snapshot.ids,
        "label_position": snapshot.labels.position,
        "label_task": snapshot.labels.task,
        "label_code": snapshot.labels.label,
    }
    described = []
    for i, (key, column) in enumerate(snapshot.keys.items()):
        arrays |= {f"k{i}_kind": column.kind, f"k{i}_number": column.number}
        arrays[f"k{i}_code"] = column.code
        described.append(
            {"key": key, "vocabulary": list(column.vocabulary), "complete": column.complete}
        )
    meta = {"labels": list(snapshot.labels.labels), "keys": described}
    facet_file_write(dataset_id=dataset_id, version=snapshot.version, arrays=arrays, meta=meta)


def snapshot_load(dataset_id: int, version: int) -> Snapshot | None:
    """The snapshot stored for this version, or None."""
    found = facet_file_read(dataset_id=dataset_id, version=version)
    if found is None:
        return None
    arrays, meta = found
    try:
        snapshot = Snapshot(
            version=version,
            ids=arrays["ids"],
            labels=LabelColumns(
                position=arrays["label_position"],
                task=arrays["label_task"],
                label=arrays["label_code"],
                labels=tuple(meta["labels"]),
            ),
        )
        for i, described in enumerate(meta["keys"]):
            snapshot.keys[described["key"]] = KeyColumn(
                key=described["key"],
                kind=arrays[f"k{i}_kind"],
                number=arrays[f"k{i}_number"],
                code=arrays[f"k{i}_code"],
                vocabulary=tuple(described["vocabulary"]),
                complete=bool(described["complete"]),
            )
    except (KeyError, TypeError, ValueError):
        return None  # a file of another layout: read the rows again
    return snapshot
