"""The embedding side of an import: spaces stored from an embeddings file or from the built-in
descriptors, and the ``masked`` / ``selected`` tags an embeddings file's flag columns fill.

A space that exists keeps its dimension and normalisation (``check_embedding_compatible``,
before any image is decoded); importing into it replaces the rows of the samples the file covers
and keeps the others (``merged_embeddings``). Every stored space is appended to the caller's
``stored`` list at once, so a later failure can remove its files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from curation.embeddings.embedders import DescriptorEmbedder, descriptors_reduce
from curation.formats.records import EmbeddingFile, IngestError
from curation.imports.summary import ImportSummary
from curation.models import Dataset, EmbeddingSpace, Tag
from curation.runs.defaults import dataset_defaults_from_import
from curation.selection.kernels_align import RowIndex
from curation.storage.embeddings import embedding_space_load, embedding_space_store
from curation.tags.services import tag_extend

BUILTIN_SPACE = DescriptorEmbedder.name
MASKED_TAG, SELECTED_TAG = "masked", "selected"


def check_embedding_compatible(
    dataset: Dataset, name: str, dimension: int, normalize: bool, source: str
) -> None:
    space = dataset.embedding_spaces.filter(name=name).first()
    if space is None:
        return
    if space.dimension != dimension:
        raise IngestError(
            f"{source} has {dimension}-d vectors but embedding space {name!r} of {dataset.name} "
            f"holds {space.dimension}-d ones (dimension mismatch): pick another --embedding-name."
        )
    if space.normalized != normalize:
        state = "unit-normalised" if space.normalized else "raw"
        raise IngestError(
            f"Embedding space {name!r} of {dataset.name} holds {state} vectors: import with the "
            "same normalisation or under another --embedding-name."
        )


def merged_embeddings(
    dataset: Dataset, name: str, ids: np.ndarray, matrix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The new rows plus the rows of the existing space for samples this import does not cover."""
    space = dataset.embedding_spaces.filter(name=name).first()
    if space is None:
        return ids, matrix
    old = embedding_space_load(space)
    keep = ~RowIndex(ids).find(old.sample_ids)[1]  # old rows this import does not cover
    if not keep.any():
        return ids, matrix
    return (
        np.concatenate([old.sample_ids[keep], ids]),
        np.concatenate([np.asarray(old.matrix[keep], dtype=np.float32), matrix]),
    )


def write_tag_members(dataset: Dataset, name: str, sample_ids: list[int], user: Any) -> int:
    """Create tag ``name`` or add to it (through the tags service); returns how many samples it
    gained."""
    return tag_extend(dataset=dataset, name=name, sample_ids=sample_ids, created_by=user)[1]


def flag_tags_write(
    *,
    dataset: Dataset,
    summary: ImportSummary,
    embedding_file: EmbeddingFile,
    embedding_names: dict[str, str],
    ids: dict[str, int],
    user: Any,
) -> None:
    """The ``masked`` / ``selected`` columns as tags (added to), each then the dataset's
    default mask / pre-selection; ``embedding_names`` maps written to canonical names."""
    for flag in (MASKED_TAG, SELECTED_TAG):
        column = getattr(embedding_file, flag)
        if column is not None and column.any():
            members = [
                ids[embedding_names[n]]
                for n, on in zip(embedding_file.names, column, strict=True)
                if on
            ]
            summary.tags[flag] = write_tag_members(dataset, flag, members, user)
            dataset_defaults_from_import(  # the default mask / pre-selection from now on
                dataset=dataset, flag=flag, tag=Tag.objects.get(dataset=dataset, name=flag)
            )


def embeddings_store(
    *,
    stored: list[EmbeddingSpace],
    dataset: Dataset,
    summary: ImportSummary,
    embedding_file: EmbeddingFile | None,
    embedding_names: dict[str, str],
    embedding_name: str,
    normalize_embeddings: bool,
    descriptors: dict[str, np.ndarray],
    ids: dict[str, int],
) -> None:
    """Store the file's vectors as space ``embedding_name`` (merged into an existing one) and
    the reduced built-in descriptors as ``BUILTIN_SPACE``; each stored space goes to ``stored``."""
    if embedding_file is not None:
        row_ids = np.array([ids[embedding_names[n]] for n in embedding_file.names])
        row_ids, matrix = merged_embeddings(dataset, embedding_name, row_ids, embedding_file.matrix)
        stored.append(
            embedding_space_store(
                dataset=dataset,
                name=embedding_name,
                matrix=matrix,
                sample_ids=row_ids,
                normalize=normalize_embeddings,
            )
        )
        summary.embeddings[embedding_name] = (len(row_ids), matrix.shape[1])
    if descriptors:
        names = sorted(descriptors)
        matrix = descriptors_reduce(np.stack([descriptors[n] for n in names]))
        stored.append(
            embedding_space_store(
                dataset=dataset,
                name=BUILTIN_SPACE,
                matrix=matrix,
                sample_ids=np.array([ids[n] for n in names]),
                normalize=True,
            )
        )
        summary.embeddings[BUILTIN_SPACE] = matrix.shape
