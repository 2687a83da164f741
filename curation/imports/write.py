"""The write half of an import: every file name resolved and checked first, then everything
written to the database in bulk, inside the caller's transaction (no per-row queries).

Order: resolve names (embeddings, metadata, tasks; unknown names and incompatible tasks fail
here, before any write), then samples (``imports.samples``), flag tags and annotation tasks
(``imports.embeddings``, ``imports.annotations``), then the embedding spaces and last the
object space (its rows name the boxes just written), whose files land in ``stored`` so the
caller can remove them if the transaction fails.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from curation.formats.names import normalize_file_name
from curation.formats.records import EmbeddingFile, MetadataFile, TaskImport
from curation.imports.annotations import (
    WriteCounts,
    check_tasks_compatible,
    resolve_task,
    write_task,
)
from curation.imports.common import FileNameIndex
from curation.imports.embeddings import embeddings_store, flag_tags_write
from curation.imports.objects import ObjectImport, object_import_write
from curation.imports.samples import samples_write
from curation.imports.summary import ImportSummary
from curation.models import Dataset, EmbeddingSpace


def validate_and_write(
    *,
    stored: list[EmbeddingSpace],
    dataset: Dataset,
    summary: ImportSummary,
    image_root: Path | None,
    existing: dict[str, tuple[int, int | None, int | None]],
    processed: dict[str, dict[str, Any]],
    descriptors: dict[str, np.ndarray],
    embedding_file: EmbeddingFile | None,
    embedding_name: str,
    normalize_embeddings: bool,
    samples_from_embeddings: bool,
    metadata_file: MetadataFile | None,
    tasks: list[TaskImport],
    user: Any,
    object_import: ObjectImport | None = None,
) -> None:
    """Resolve every file name, check, then write samples, tags, tasks and embeddings; last
    the object embeddings, resolved against the boxes as written (``imports.objects``)."""
    clock = _PhaseClock(summary.phases)
    known = set(existing) | set(processed)
    pixelless: list[str] = []
    if embedding_file is not None and samples_from_embeddings:
        probe = FileNameIndex(known)
        pixelless = list(
            dict.fromkeys(
                normalize_file_name(n) for n in embedding_file.names if probe.lookup(n) is None
            )
        )
    index = FileNameIndex(known | set(pixelless))

    embedding_names: dict[str, str] = {}
    if embedding_file is not None:
        embedding_names = index.resolve(embedding_file.names, embedding_file.source)
    custom: dict[str, dict[str, Any]] = {}
    if metadata_file is not None:
        custom = index.resolve_values(
            ((name, values) for name, values, _ in metadata_file.rows), metadata_file.source
        )
    sizes = {n: (w, h) for n, (_, w, h) in existing.items()}
    sizes.update({n: (r["width"], r["height"]) for n, r in processed.items()})
    resolved_tasks = [resolve_task(task, index, sizes) for task in tasks]
    check_tasks_compatible(dataset, resolved_tasks)

    clock.lap("resolve names")

    # -- writes ---------------------------------------------------------------------------
    if image_root is not None and not dataset.image_root:
        dataset.image_root = str(image_root)
        dataset.save(update_fields=["image_root", "updated"])
    ids = samples_write(
        dataset=dataset,
        summary=summary,
        existing=existing,
        processed=processed,
        pixelless=pixelless,
        custom=custom,
    )
    clock.lap("write samples")

    if embedding_file is not None:
        flag_tags_write(
            dataset=dataset,
            summary=summary,
            embedding_file=embedding_file,
            embedding_names=embedding_names,
            ids=ids,
            user=user,
        )
    counts = WriteCounts()
    for resolved in resolved_tasks:
        write_task(dataset, resolved, ids, counts)
    summary.annotations, summary.scores = counts.annotations, counts.scores
    clock.lap("write tags and annotations")

    embeddings_store(
        stored=stored,
        dataset=dataset,
        summary=summary,
        embedding_file=embedding_file,
        embedding_names=embedding_names,
        embedding_name=embedding_name,
        normalize_embeddings=normalize_embeddings,
        descriptors=descriptors,
        ids=ids,
    )
    clock.lap("store embeddings")

    if object_import is not None:
        space = object_import_write(dataset=dataset, plan=object_import, stored=stored)
        summary.object_embeddings[space.name] = (space.count, space.dimension)
        clock.lap("store object embeddings")


class _PhaseClock:
    """Seconds per phase of the write, added to ``ImportSummary.phases`` (for benchmarks)."""

    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = self.phases.get(name, 0.0) + now - self.last
        self.last = now
