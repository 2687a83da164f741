"""Find similar: samples ranked by exact embedding distance to a few query samples.

``similar_to=ID[,ID…]`` in the filter language (``curation.filters``; the ordering hook is
``curation.filters_similar``) orders the matching samples nearest first in one embedding
space (``space=NAME``, needed only when the dataset has several). This selector is the one
place that reaches the engine's kernel for it (``kernels_knn.min_query_distance``: exact
float64 distance of every row to its nearest query vector); pages and the API reach it only
through the filter.

Invariants: the query samples themselves come first (in the order given, those matching the
rest of the filter), then the other samples by ascending distance to the nearest query sample
(ties by id), then samples without a vector in the space, by id. Distances are Euclidean, or
cosine distance ``1 - cos`` for a normalised space (``d^2 / 2`` of unit vectors, the same
order). Nothing is written; recent distance vectors are cached in the process, so paging
through a result computes them once. Errors are ``SimilarityError`` with one sentence (the
filter turns them into ``FilterError``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet

from curation.models import Dataset, EmbeddingSpace, Sample
from curation.selection.kernels_align import RowIndex
from curation.selection.kernels_knn import min_query_distance
from curation.storage.embeddings import embedding_space_load

MAX_QUERY_SAMPLES = 200
DISTANCE_CACHE = 8

_lock = threading.Lock()
_distances: OrderedDict[tuple[str, tuple[int, ...]], tuple[np.ndarray, np.ndarray]] = OrderedDict()


class SimilarityError(ValueError):
    """A similarity search that cannot run; one sentence naming the parameter or the space."""


@dataclass(frozen=True)
class SimilarRanking:
    """Sample ids nearest first and their distance (NaN: no vector in the space)."""

    ids: np.ndarray
    distances: np.ndarray
    space: str


def similarity_space_names(dataset: Dataset) -> list[str]:
    """Names of the dataset's embedding spaces, for the "Find similar" choice."""
    return list(
        EmbeddingSpace.objects.filter(dataset=dataset)
        .order_by("name")
        .values_list("name", flat=True)
    )


def similar_space(dataset: Dataset, space_name: str = "") -> EmbeddingSpace:
    """The space to search: the named one, or the dataset's only space."""
    spaces = list(
        EmbeddingSpace.objects.filter(dataset=dataset).defer("projection").order_by("name")
    )
    names = ", ".join(s.name for s in spaces) or "none"
    if space_name:
        for space in spaces:
            if space.name == space_name:
                return space
        raise SimilarityError(
            f"Filter parameter space={space_name!r}: dataset {dataset.name!r} has no such "
            f"embedding space (known: {names})."
        )
    if len(spaces) == 1:
        return spaces[0]
    if spaces:
        raise SimilarityError(
            f"Several embedding spaces ({names}): add space=NAME to similar_to= to choose one."
        )
    raise SimilarityError(
        f"Dataset {dataset.name!r} has no embedding space, so similar_to= cannot rank: "
        "import or compute embeddings first."
    )


def space_distances(
    space: EmbeddingSpace, query_ids: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(sample ids of the space's rows, distance of each row to its nearest query sample)."""
    key = (space.storage_key, query_ids)
    with _lock:
        cached = _distances.get(key)
        if cached is not None:
            _distances.move_to_end(key)
            return cached
    try:
        loaded = embedding_space_load(space)
    except OSError:
        raise SimilarityError(
            f"The vectors of the embedding space {space.name!r} are missing on the server: "
            "import or compute the space again."
        ) from None
    space_ids = np.asarray(loaded.sample_ids, dtype=np.int64)
    rows, found = RowIndex(space_ids).find(np.asarray(query_ids, dtype=np.int64))
    if not found.all():
        missing = [str(i) for i, ok in zip(query_ids, found, strict=True) if not ok]
        raise SimilarityError(
            f"Filter parameter similar_to: sample {', '.join(missing[:5])} has no vector in the "
            f"embedding space {space.name!r}."
        )
    queries = np.asarray(loaded.matrix[np.sort(rows)], dtype=np.float64)
    distances = min_query_distance(loaded.matrix, None, queries)
    if space.normalized:
        distances = distances * distances / 2.0  # 1 - cos of unit vectors
    result = (space_ids, distances)
    with _lock:
        _distances[key] = result
        while len(_distances) > DISTANCE_CACHE:
            _distances.popitem(last=False)
    return result


def similar_ranking(
    dataset: Dataset, query_ids: tuple[int, ...], space_name: str, samples: QuerySet[Sample]
) -> SimilarRanking:
    """The samples of ``samples`` (a filtered queryset) nearest first to ``query_ids``."""
    if not query_ids:
        raise SimilarityError("Filter parameter similar_to needs at least one sample id.")
    if len(query_ids) > MAX_QUERY_SAMPLES:
        raise SimilarityError(
            f"Filter parameter similar_to has {len(query_ids)} samples; at most "
            f"{MAX_QUERY_SAMPLES} are allowed."
        )
    space = similar_space(dataset, space_name)
    unknown = set(query_ids) - set(
        Sample.objects.filter(dataset=dataset, pk__in=query_ids).values_list("pk", flat=True)
    )
    if unknown:
        raise SimilarityError(
            f"Filter parameter similar_to: dataset {dataset.name!r} has no sample {min(unknown)}."
        )
    space_ids, distances = space_distances(space, tuple(sorted(set(query_ids))))
    candidates = np.unique(
        np.fromiter(samples.order_by().values_list("pk", flat=True), dtype=np.int64)
    )
    rows, found = RowIndex(space_ids).find(candidates)
    values = np.full(len(candidates), np.nan)
    values[found] = distances[rows[found]]
    position = {int(pk): i for i, pk in enumerate(dict.fromkeys(query_ids))}
    is_query = np.fromiter((int(pk) in position for pk in candidates), dtype=bool, count=-1)
    with_vector = np.flatnonzero(found & ~is_query)
    ranked = with_vector[np.lexsort((candidates[with_vector], values[with_vector]))]
    queries = np.flatnonzero(is_query)
    queries = queries[np.argsort([position[int(candidates[i])] for i in queries], kind="stable")]
    rest = np.flatnonzero(~found & ~is_query)
    order = np.concatenate([queries, ranked, rest]).astype(np.int64)
    return SimilarRanking(ids=candidates[order], distances=values[order], space=space.name)


def similar_top_ids(
    dataset: Dataset,
    query_ids: tuple[int, ...],
    space_name: str,
    top: int,
    samples: QuerySet[Sample],
) -> list[int] | None:
    """For the filter: checks the query; with ``top`` the ids of the ``top`` nearest among
    ``samples`` (those with a vector, the query samples first), else None."""
    if not top:
        similar_ranking(dataset, query_ids, space_name, samples.none())
        return None
    ranking = similar_ranking(dataset, query_ids, space_name, samples)
    with_vector = ranking.ids[~np.isnan(ranking.distances)]
    return [int(i) for i in with_vector[:top]]


def similarity_clear_caches() -> None:
    with _lock:
        _distances.clear()
