"""Text search: encode a query with a space's text model and rank samples by cosine similarity.

``text=QUERY`` in the filter language (``curation.filters``) orders the matching samples best
first; ``space=NAME`` picks the embedding space (needed only when several spaces of the dataset
have a text model); ``text_top=N`` keeps only the N best matches (a candidate set for a
selection). The space must have been computed by ``manage.py embed`` / the embed job with a text
model: its ``source`` names the text model and tokenizer that share its vector space.

Invariants: the order is the descending cosine between each sample's vector and the encoded
query (ties by id, samples without a vector in the space last, by id), exactly a numpy cosine
ranking; nothing is written. Text encoders (one per model file pair) and recent query scores
are cached in the process, so paging through a result does not re-run the model. Errors are
``TextSearchError`` with one sentence (the filter turns them into ``FilterError``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import QuerySet

from curation.embeddings.onnx_models import ModelError, TextEncoder, text_encoder_load
from curation.models import Dataset, EmbeddingSpace, Sample
from curation.storage.embeddings import embedding_space_load

ENCODER_CACHE = 4
SCORE_CACHE = 8
MAX_QUERY_CHARS = 1000
EMBED_HINT = (
    "compute it with a text model: manage.py embed DATASET --model IMAGE.onnx --name SPACE "
    "--text-model TEXT.onnx --tokenizer tokenizer.json"
)

_lock = threading.Lock()
_encoders: OrderedDict[tuple[str, str, float, float], TextEncoder] = OrderedDict()
_scores: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()


class TextSearchError(ValueError):
    """A text search that cannot run; one sentence naming the parameter or the space."""


@dataclass(frozen=True)
class Ranking:
    """Sample ids best first and their cosine similarity (NaN: no vector in the space)."""

    ids: np.ndarray
    scores: np.ndarray
    space: str


def has_text_model(space: EmbeddingSpace) -> bool:
    source = space.source or {}
    return bool(source.get("text_model") and source.get("tokenizer"))


def text_space_names(dataset: Dataset) -> list[str]:
    """Names of the dataset's spaces that text search can use (for the search box)."""
    spaces = EmbeddingSpace.objects.filter(dataset=dataset).order_by("name").only("name", "source")
    return [space.name for space in spaces if has_text_model(space)]


def text_space(dataset: Dataset, space_name: str = "") -> EmbeddingSpace:
    """The space to search: the named one, or the dataset's only space with a text model."""
    spaces = list(EmbeddingSpace.objects.filter(dataset=dataset).order_by("name"))
    if space_name:
        for space in spaces:
            if space.name == space_name:
                if not has_text_model(space):
                    raise TextSearchError(
                        f"The embedding space {space_name!r} has no text model, so text= cannot "
                        f"search it: {EMBED_HINT}."
                    )
                return space
        known = ", ".join(s.name for s in spaces) or "none"
        raise TextSearchError(
            f"Filter parameter space={space_name!r}: dataset {dataset.name!r} has no such "
            f"embedding space (known: {known})."
        )
    with_text = [s for s in spaces if has_text_model(s)]
    if len(with_text) == 1:
        return with_text[0]
    if with_text:
        names = ", ".join(s.name for s in with_text)
        raise TextSearchError(
            f"Several embedding spaces have a text model ({names}): add space=NAME to text=."
        )
    what = "no embedding space" if not spaces else "no embedding space with a text model"
    raise TextSearchError(
        f"Dataset {dataset.name!r} has {what}, so text= cannot search: {EMBED_HINT}."
    )


def text_encoder_for(space: EmbeddingSpace) -> TextEncoder:
    """The space's text encoder, loaded once per process (reloaded when a file changes)."""
    source = space.source or {}
    model, tokenizer = str(source.get("text_model", "")), str(source.get("tokenizer", ""))
    try:
        key = (model, tokenizer, Path(model).stat().st_mtime, Path(tokenizer).stat().st_mtime)
    except OSError:
        raise TextSearchError(
            f"The text model of the space {space.name!r} is no longer on the server ({model}): "
            "compute the space again."
        ) from None
    with _lock:
        encoder = _encoders.get(key)
        if encoder is not None:
            _encoders.move_to_end(key)
            return encoder
    try:
        encoder = text_encoder_load(text_model=model, tokenizer=tokenizer)
    except ModelError as exc:
        raise TextSearchError(str(exc)) from None
    if encoder.dimension != space.dimension:
        raise TextSearchError(
            f"{model}: the text model returns {encoder.dimension}-d vectors but the space "
            f"{space.name!r} has {space.dimension}; compute the space again."
        )
    with _lock:
        _encoders[key] = encoder
        while len(_encoders) > ENCODER_CACHE:
            _encoders.popitem(last=False)
    return encoder


def query_vector(space: EmbeddingSpace, text: str) -> np.ndarray:
    """The unit-length encoding of ``text`` by the space's text model."""
    if len(text) > MAX_QUERY_CHARS:
        raise TextSearchError(f"Filter parameter text is longer than {MAX_QUERY_CHARS} characters.")
    try:
        vector = text_encoder_for(space).encode([text])[0].astype(np.float64)
    except ModelError as exc:
        raise TextSearchError(str(exc)) from None
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def space_scores(space: EmbeddingSpace, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(sample ids, cosine similarity to ``text``) over every row of the space (cached)."""
    key = (space.storage_key, text)
    loaded = embedding_space_load(space)
    with _lock:
        cached = _scores.get(key)
    if cached is None:
        query = query_vector(space, text).astype(np.float32)
        matrix = loaded.matrix
        cached = np.asarray(matrix @ query, dtype=np.float64)
        if not space.normalized:
            norms = np.linalg.norm(np.asarray(matrix, dtype=np.float64), axis=1)
            cached = cached / np.where(norms == 0, 1.0, norms)
        with _lock:
            _scores[key] = cached
            while len(_scores) > SCORE_CACHE:
                _scores.popitem(last=False)
    return np.asarray(loaded.sample_ids, dtype=np.int64), cached


def cosine_ranking(
    candidate_ids: np.ndarray, space_ids: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates best first (ties by id), those without a score last by id."""
    candidates = np.unique(np.asarray(candidate_ids, dtype=np.int64))
    order = np.argsort(space_ids, kind="stable")
    sorted_ids = space_ids[order]
    pos = np.searchsorted(sorted_ids, candidates)
    pos_clipped = np.minimum(pos, max(len(sorted_ids) - 1, 0))
    found = np.zeros(len(candidates), dtype=bool)
    if len(sorted_ids):
        found = (pos < len(sorted_ids)) & (sorted_ids[pos_clipped] == candidates)
    values = np.full(len(candidates), np.nan)
    values[found] = scores[order[pos_clipped[found]]]
    with_vector = np.flatnonzero(found)
    ranked = with_vector[np.lexsort((candidates[with_vector], -values[with_vector]))]
    rest = np.flatnonzero(~found)
    rows = np.concatenate([ranked, rest])
    return candidates[rows], values[rows]


def text_ranking(
    dataset: Dataset, text: str, space_name: str, samples: QuerySet[Sample]
) -> Ranking:
    """The samples of ``samples`` (a filtered queryset) ranked by similarity to ``text``."""
    space = text_space(dataset, space_name)
    space_ids, scores = space_scores(space, text)
    candidate_ids = np.fromiter(samples.order_by().values_list("pk", flat=True), dtype=np.int64)
    ids, values = cosine_ranking(candidate_ids, space_ids, scores)
    return Ranking(ids=ids, scores=values, space=space.name)


def text_page(
    dataset: Dataset,
    text: str,
    space_name: str,
    samples: QuerySet[Sample],
    *,
    offset: int,
    size: int,
) -> tuple[list[Any], list[float], bool]:
    """One page of a ranked result: its samples (in rank order), their scores, and whether
    more follow. ``samples`` may carry ``only`` / ``prefetch_related``."""
    ranking = text_ranking(dataset, text, space_name, samples)
    wanted = ranking.ids[offset : offset + size].tolist()
    rows = {s.pk: s for s in samples.filter(pk__in=wanted)}
    page = [rows[pk] for pk in wanted if pk in rows]
    scores = [float(s) for s in ranking.scores[offset : offset + size]]
    return page, scores, offset + size < len(ranking.ids)


def text_filter_ids(
    dataset: Dataset, text: str, space_name: str, top: int, samples: QuerySet[Sample]
) -> list[int] | None:
    """For the filter: checks the space can be searched; with ``top`` the ids of the ``top``
    best matches among ``samples`` (those with a vector in the space), else None."""
    if not top:
        text_space(dataset, space_name)
        return None
    ranking = text_ranking(dataset, text, space_name, samples)
    with_vector = ranking.ids[~np.isnan(ranking.scores)]
    return [int(i) for i in with_vector[:top]]


def text_search_clear_caches() -> None:
    with _lock:
        _encoders.clear()
        _scores.clear()
