"""The sample rows of an import, written in bulk inside the caller's transaction.

New images become samples (pixels, built-in metadata, thumbnail name); samples that had no
pixels get them; custom metadata merges into a sample's existing keys (the file's values win);
names from an embeddings file that match no image become samples without pixels. File names are
canonical here (resolved by ``FileNameIndex``); thumbnails are named by ``thumbnail_relpath``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.utils import timezone

from curation.db_bulk import insert_rows
from curation.imports.summary import ImportSummary
from curation.models import Dataset, Sample
from curation.storage.thumbnails import thumbnail_relpath

SAMPLE_FIELDS = ("dataset", "file_name", "width", "height", "size_bytes", "thumbnail")
NAME_CHUNK = 5000

NewSample = tuple[str, int | None, int | None, int | None, str, dict[str, Any]]


def db_now(model: type[models.Model], field_name: str = "created") -> Any:
    """``timezone.now()`` prepared for ``model.field_name`` (an ``auto_now_add`` column)."""
    field: Any = model._meta.get_field(field_name)
    return field.get_db_prep_save(timezone.now(), connection)


def samples_write(
    *,
    dataset: Dataset,
    summary: ImportSummary,
    existing: dict[str, tuple[int, int | None, int | None]],
    processed: dict[str, dict[str, Any]],
    pixelless: list[str],
    custom: dict[str, dict[str, Any]],
) -> dict[str, int]:
    """Write the samples of an import and count them in ``summary``; the dataset's
    ``{file name: sample id}`` afterwards.

    ``existing``: the dataset's samples before (name -> (id, width, height)); ``processed``:
    decoded images (name -> width, height, size, metadata); ``pixelless``: new names from an
    embeddings file; ``custom``: metadata file values by canonical name."""
    updated_names = [n for n in processed if n in existing]
    metadata_only = [n for n in custom if n in existing and n not in processed]
    current = _current_metadata(dataset, updated_names + metadata_only)
    new_samples: list[NewSample] = []
    pixel_updates: list[Sample] = []
    no_values: dict[str, Any] = {}
    for name, result in processed.items():
        values = {**result["metadata"], **custom.get(name, no_values)}
        thumbnail = thumbnail_relpath(dataset.pk, name)
        if name in existing:
            sample = Sample(
                pk=existing[name][0],
                dataset=dataset,
                file_name=name,
                width=result["width"],
                height=result["height"],
                size_bytes=result["size"],
                thumbnail=thumbnail,
                metadata={**current.get(name, {}), **values},
            )
            pixel_updates.append(sample)
        else:
            new_samples.append(
                (name, result["width"], result["height"], result["size"], thumbnail, values)
            )
    summary.images_added = len(new_samples)
    summary.images_updated = len(pixel_updates)
    # Samples without pixels stream into the insert: no tuple per row is kept (1M+ names).
    without_pixels = (
        (name, None, None, None, "", custom.get(name, no_values)) for name in pixelless
    )
    summary.samples_without_pixels = len(pixelless)
    metadata_updates = [
        Sample(pk=existing[n][0], metadata={**current.get(n, {}), **custom[n]})
        for n in metadata_only
    ]
    _write_rows(
        dataset,
        itertools.chain(new_samples, without_pixels),
        pixel_updates,
        ["width", "height", "size_bytes", "thumbnail", "metadata"],
    )
    _write_rows(dataset, [], metadata_updates, ["metadata"])
    summary.metadata_rows = len(custom)
    names = Sample.objects.filter(dataset=dataset).values_list("file_name", "id")
    return dict(names.iterator(chunk_size=NAME_CHUNK))  # streamed: no client-side result copy


def _write_rows(
    dataset: Dataset,
    new_samples: Iterable[NewSample],
    updates: list[Sample],
    update_fields: list[str],
) -> None:
    """Insert ``new_samples`` ((file name, width, height, size, thumbnail, metadata) tuples) and
    save ``updates``."""
    created = db_now(Sample)
    insert_rows(
        Sample,
        (*SAMPLE_FIELDS, "metadata", "created"),
        (
            (dataset.pk, name, width, height, size, thumbnail, json.dumps(metadata), created)
            for name, width, height, size, thumbnail, metadata in new_samples
        ),
    )
    if updates:
        Sample.objects.bulk_update(updates, update_fields, batch_size=1000)


def _current_metadata(dataset: Dataset, names: list[str]) -> dict[str, dict[str, Any]]:
    current: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), NAME_CHUNK):
        current.update(
            Sample.objects.filter(
                dataset=dataset, file_name__in=names[start : start + NAME_CHUNK]
            ).values_list("file_name", "metadata")
        )
    return current
