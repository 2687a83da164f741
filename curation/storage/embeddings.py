"""Embedding matrices in storage: float32 ``.npy`` files row-aligned with a sample-id array.

The matrix is held once: its rows are checked (finite), normalised and written in blocks
straight to the temporary file (``_write_matrix_atomically``), never copied whole. Writes are
atomic: both files are written to temporary names, fsynced and renamed, and only then
is the database row written. If the row cannot be written, the files are removed again; files
left behind by a crash (or by an outer transaction that rolled back) carry a key no row names
and are removed by ``embedding_files_sweep``. Reads are memory-mapped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from curation.models import AnnotationTask, Dataset, EmbeddingSpace
from curation.storage.paths import is_inside, safe_join

_BLOCK_ROWS = 8192


class EmbeddingError(ValueError):
    """An embedding matrix that cannot be stored; the message says why."""


@dataclass(frozen=True)
class LoadedEmbeddings:
    sample_ids: np.ndarray  # int64, shape (N,)
    matrix: np.ndarray  # float32 memmap, shape (N, D)


def _dataset_dir(dataset_id: int) -> Path:
    return safe_join(settings.CURATION_EMBEDDINGS_ROOT, str(int(dataset_id)))


def embedding_paths(space: EmbeddingSpace) -> tuple[Path, Path]:
    """The two files of ``space``, through the checked join (the key is a uuid hex)."""
    folder = _dataset_dir(space.dataset_id)
    key = space.storage_key
    return safe_join(folder, f"{key}.npy"), safe_join(folder, f"{key}.ids.npy")


def _write_npy_atomically(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _checked(matrix: np.ndarray, sample_ids: np.ndarray) -> np.ndarray:
    """``matrix`` as an array (never copied here) after the checks that need no pass over the
    values: 2-D, non-empty, one row per sample id, no id twice."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise EmbeddingError(f"An embedding matrix must be 2-D and non-empty, not {matrix.shape}.")
    if len(sample_ids) != matrix.shape[0]:
        raise EmbeddingError(
            f"{matrix.shape[0]} embedding rows but {len(sample_ids)} sample ids: they must align."
        )
    if len(np.unique(sample_ids)) != len(sample_ids):
        raise EmbeddingError("A sample appears twice in the embedding rows.")
    return matrix


def _validated_blocks(matrix: np.ndarray, normalize: bool) -> Iterator[np.ndarray]:
    """The rows of ``matrix`` as float32 blocks of ``_BLOCK_ROWS``, each checked finite and
    (``normalize``) unit-normalised: the matrix is never copied whole (only one block at a
    time, with its float64 temporaries). Raises on the first row with NaN or infinity."""
    for start in range(0, matrix.shape[0], _BLOCK_ROWS):
        block = np.ascontiguousarray(matrix[start : start + _BLOCK_ROWS], dtype=np.float32)
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = start + int(np.flatnonzero(~finite)[0])
            raise EmbeddingError(f"Embedding row {row} contains NaN or infinite values.")
        if normalize:
            norms = np.linalg.norm(block.astype(np.float64), axis=1, keepdims=True)
            block = (block / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        yield block


def _write_matrix_atomically(path: Path, matrix: np.ndarray, normalize: bool) -> None:
    """``matrix`` as a float32 ``.npy`` at ``path``, streamed block by block through
    ``_validated_blocks`` into a temporary file that is renamed only when every row passed."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    header = {"descr": "<f4", "fortran_order": False, "shape": tuple(matrix.shape)}
    try:
        with open(tmp, "wb") as handle:
            np.lib.format.write_array_header_1_0(handle, header)
            for block in _validated_blocks(matrix, normalize):
                handle.write(block.astype("<f4", copy=False).data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def embedding_space_store(
    *,
    dataset: Dataset,
    name: str,
    matrix: np.ndarray,
    sample_ids: np.ndarray,
    normalize: bool = True,
    task: AnnotationTask | None = None,
    source: dict[str, Any] | None = None,
) -> EmbeddingSpace:
    """Create the space ``name`` of ``dataset``, or replace its vectors if it exists.

    ``task``: an object-level space of that detection task (``sample_ids`` then holds its
    annotation ids); ``source``: how the vectors were made (see ``EmbeddingSpace.source``)."""
    matrix = _checked(matrix, np.asarray(sample_ids))
    ids = np.asarray(sample_ids, dtype=np.int64)
    key = uuid.uuid4().hex
    folder = _dataset_dir(dataset.pk)
    folder.mkdir(parents=True, exist_ok=True)
    vectors_path, ids_path = safe_join(folder, f"{key}.npy"), safe_join(folder, f"{key}.ids.npy")
    try:
        _write_matrix_atomically(vectors_path, matrix, normalize)
        _write_npy_atomically(ids_path, ids)
        _fsync_dir(folder)
        with transaction.atomic():
            space = (
                EmbeddingSpace.all_spaces.select_for_update()
                .filter(dataset=dataset, name=name)
                .first()
            )
            old_paths = embedding_paths(space) if space else ()
            if space is None:
                space = EmbeddingSpace(dataset=dataset, name=name)
            space.dimension = int(matrix.shape[1])
            space.count = int(matrix.shape[0])
            space.normalized = normalize
            space.task = task
            space.source = dict(source or {})
            space.storage_key = key
            space.projection = None
            space.save()
            transaction.on_commit(lambda: _unlink(*old_paths))
    except BaseException:
        _unlink(vectors_path, ids_path)
        raise
    return space


def embedding_space_load(space: EmbeddingSpace) -> LoadedEmbeddings:
    """The stored vectors, memory-mapped read-only, and their sample ids."""
    vectors_path, ids_path = embedding_paths(space)
    matrix = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
    ids = np.load(ids_path, allow_pickle=False)
    return LoadedEmbeddings(sample_ids=ids, matrix=matrix)


def embedding_space_delete(*, space: EmbeddingSpace) -> None:
    paths = embedding_paths(space)
    space.delete()
    transaction.on_commit(lambda: _unlink(*paths))


def embedding_files_sweep() -> int:
    """Remove embedding files no database row names (crash leftovers). Returns the count."""
    root = Path(settings.CURATION_EMBEDDINGS_ROOT)
    if not root.is_dir():
        return 0
    known = set(EmbeddingSpace.all_spaces.values_list("storage_key", flat=True))
    removed = 0
    for path in root.glob("*/*.npy"):
        key = path.name.split(".", 1)[0]
        # Only files that really lie in their folder below the root: never through a link.
        if key not in known and not path.is_symlink() and is_inside(root, path):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def dataset_embedding_dir(dataset_id: int) -> Path:
    return _dataset_dir(dataset_id)


def _unlink(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
