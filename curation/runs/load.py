"""Loading a run's inputs as ``ArrayData``, aligned by sample id, with a few bulk queries.

Row ``i`` of every array is ``sample_ids[i]`` (candidates ascending by primary key; a run
with ``text=`` then puts them in rank order: ``runs.order``). Candidates
without a vector in an embedding space the config uses are excluded and reported, never
misaligned. Queries: one over the candidates for their ids and only the metadata keys the config
needs (JSON key transforms, not whole documents), one per score and prediction input (by id
chunks for a small candidate set, else over the dataset), the tag members; the vectors come
straight from the memory-mapped store (the memmap itself when every row is a candidate).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform

from curation.models import Annotation, AnnotationTask, Dataset, Sample, Score, Tag, TagSample
from curation.runs.inputs import ResolvedInputs, is_number
from curation.runs.sequences import frame_columns
from curation.selection import ArrayData, SelectionConfig
from curation.selection.kernels_align import RowIndex
from curation.storage.embeddings import embedding_space_load

Check = Callable[[], None]
_CHUNK = 20_000


def _noop() -> None:
    return None


@dataclass
class LoadedInputs:
    sample_ids: np.ndarray  # int64, ascending; row i of every array
    data: ArrayData
    n_without_vectors: int
    timings: dict[str, float]
    object_ids: np.ndarray | None = None  # object-level: row i is this annotation (box)
    notes: tuple[str, ...] = ()  # lines for the run's message (``runs.order``)
    # a sequence run: (video id or -1, frame index) of row i (``runs.sequences``)
    frames: tuple[np.ndarray, np.ndarray] | None = None


def load_timings(t0: float, t_candidates: float, t_embeddings: float) -> dict[str, float]:
    """The phases of a load, ending now: candidates, embeddings, the rest, and the total."""
    t_end = time.perf_counter()
    return {
        "load_candidates_s": t_candidates - t0,
        "load_embeddings_s": t_embeddings - t_candidates,
        "load_other_s": t_end - t_embeddings,
        "load_s": t_end - t0,
    }


def _align(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``wanted`` its row in ``ids`` (any order) and whether found."""
    return RowIndex(ids).find(wanted)


def _positions(sample_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``ids`` in the ascending ``sample_ids`` and which of ``ids`` are candidates."""
    rows, ok = RowIndex(sample_ids).find(ids)
    return rows[ok], ok


def _numeric_or_object(values: list[Any]) -> np.ndarray:
    if all(v is None or is_number(v) for v in values):
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    return np.array(values, dtype=object)  # the engine names the first non-number


def _load_candidates(
    candidates: QuerySet[Sample], keys: list[str], check: Check
) -> tuple[np.ndarray, dict[str, list[Any]]]:
    aliases = {f"_m{i}": KeyTransform(key, "metadata") for i, key in enumerate(keys)}
    qs = candidates.order_by("pk").annotate(**aliases).values_list("pk", *aliases)
    ids: list[int] = []
    columns: list[list[Any]] = [[] for _ in keys]
    for n, row in enumerate(qs.iterator(chunk_size=_CHUNK)):
        ids.append(row[0])
        for col, value in zip(columns, row[1:], strict=True):
            col.append(value)
        if n % _CHUNK == 0:
            check()
    return np.asarray(ids, dtype=np.int64), dict(zip(keys, columns, strict=True))


def _id_chunks(sample_ids: np.ndarray) -> Iterable[list[int]]:
    for a in range(0, len(sample_ids), _CHUNK):
        yield sample_ids[a : a + _CHUNK].tolist()


def _rows_for_samples(
    qs: QuerySet[Any], sample_ids: np.ndarray, dataset: Dataset, fields: list[str]
) -> Iterator[tuple[Any, ...]]:
    """values_list rows of ``qs`` for the candidates: by id chunks for a small candidate set,
    else one query over the dataset (rows of non-candidates are dropped when aligning)."""
    total = Sample.objects.filter(dataset=dataset).count()
    if len(sample_ids) * 4 < total:
        for chunk in _id_chunks(sample_ids):
            yield from qs.filter(sample_id__in=chunk).values_list(*fields)
    else:
        yield from qs.filter(sample__dataset=dataset).values_list(*fields).iterator(_CHUNK)


def _load_scores(dataset: Dataset, sample_ids: np.ndarray, task: str, name: str) -> np.ndarray:
    rows = list(
        _rows_for_samples(
            Score.objects.filter(task=task, name=name), sample_ids, dataset, ["sample_id", "value"]
        )
    )
    out = np.full(len(sample_ids), np.nan)
    if rows:
        arr = np.asarray(rows, dtype=np.float64)
        pos, ok = _positions(sample_ids, arr[:, 0].astype(np.int64))
        out[pos] = arr[ok, 1]
    return out


def _load_predictions(
    dataset: Dataset, sample_ids: np.ndarray, task: AnnotationTask, name: str
) -> tuple[np.ndarray, list[str]]:
    """CLASS_DISTRIBUTION: the sum of each sample's probability vectors (one-hot of the label
    where a prediction has none). CATEGORY_COUNT: the number of predictions per category."""
    classes = [str(c) for c in task.categories]
    index = {c: j for j, c in enumerate(classes)}
    rows = list(
        _rows_for_samples(
            Annotation.objects.filter(task=task),
            sample_ids,
            dataset,
            ["sample_id", "label", "probabilities"],
        )
    )
    for _, label, _ in rows:
        if label not in index:
            index[label] = len(classes)
            classes.append(label)
    k = len(classes)
    matrix = np.zeros((len(sample_ids), k), dtype=np.float64)
    if not rows:
        return matrix, classes
    sids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    pos, ok = _positions(sample_ids, sids)
    kept = [r for r, keep in zip(rows, ok, strict=True) if keep]
    use_probs = name == "CLASS_DISTRIBUTION"
    onehot_rows: list[int] = []
    onehot_cols: list[int] = []
    for p, (_, label, probs) in zip(pos, kept, strict=True):
        if use_probs and isinstance(probs, list) and len(probs) == len(task.categories) > 0:
            matrix[p, : len(probs)] += np.asarray(probs, dtype=np.float64)
        else:
            onehot_rows.append(int(p))
            onehot_cols.append(index[label])
    if onehot_rows:
        np.add.at(matrix, (np.asarray(onehot_rows), np.asarray(onehot_cols)), 1.0)
    return matrix, classes


def _tag_sample_ids(tag: Tag | None) -> np.ndarray:
    if tag is None:
        return np.zeros(0, dtype=np.int64)
    return np.fromiter(
        TagSample.objects.filter(tag=tag).values_list("sample_id", flat=True), dtype=np.int64
    )


def load_inputs(
    *,
    dataset: Dataset,
    config: SelectionConfig,
    resolved: ResolvedInputs,
    candidates: QuerySet[Sample],
    mask_tag: Tag | None,
    preselected_tag: Tag | None,
    check: Check = _noop,
) -> LoadedInputs:
    """Read every input of the run for the candidates, aligned by sample id."""
    t0 = time.perf_counter()
    req = config.requirements()
    keys = sorted(req.metadata)
    sample_ids, meta_cols = _load_candidates(candidates, keys, check)
    t_candidates = time.perf_counter()

    # Embeddings: keep candidates that have a vector in every space the config uses.
    spaces = {space.pk: space for space in resolved.spaces.values()}
    keep = np.ones(len(sample_ids), dtype=bool)
    located: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for pk, space in spaces.items():
        loaded = embedding_space_load(space)
        rows, found = _align(loaded.sample_ids, sample_ids)
        keep &= found
        located[pk] = (rows, loaded.matrix)
    n_without = int((~keep).sum())
    embeddings: dict[str, np.ndarray] = {}
    for pk, (rows, matrix) in located.items():
        rows = rows[keep]
        if len(rows) == matrix.shape[0] and np.array_equal(rows, np.arange(len(rows))):
            embeddings[spaces[pk].name] = matrix  # the memmap itself, no copy
        else:
            embeddings[spaces[pk].name] = np.take(matrix, rows, axis=0)
        check()
    if n_without:
        sample_ids = sample_ids[keep]
        meta_cols = {
            k: [v for v, ok in zip(col, keep, strict=True) if ok] for k, col in meta_cols.items()
        }
    t_embeddings = time.perf_counter()

    metadata = {
        k: np.array(col, dtype=object) if k in req.string_metadata else _numeric_or_object(col)
        for k, col in meta_cols.items()
    }
    scores = {key: _load_scores(dataset, sample_ids, *key) for key in req.scores}
    check()
    predictions = {
        (task, name): _load_predictions(dataset, sample_ids, resolved.tasks[task], name)
        for task, name in req.predictions
    }
    queries: dict[Any, np.ndarray] = {}
    for qkey, (_, tag, qspace) in resolved.queries.items():
        loaded = embedding_space_load(qspace)
        members = np.sort(_tag_sample_ids(tag))
        rows, found = _align(loaded.sample_ids, members)
        queries[qkey] = np.take(loaded.matrix, rows[found], axis=0)
    masked = np.isin(sample_ids, _tag_sample_ids(mask_tag)) if mask_tag else None
    preselected = np.isin(sample_ids, _tag_sample_ids(preselected_tag)) if preselected_tag else None
    data = ArrayData(
        embeddings=embeddings,
        metadata=metadata,
        scores=scores,
        predictions=predictions,
        queries=queries,
        masked=masked,
        preselected=preselected,
        n=len(sample_ids),
    )
    frames = None
    if config.selected_sequence_length > 1:
        frames = frame_columns(candidates, sample_ids)
    return LoadedInputs(
        sample_ids=sample_ids,
        data=data,
        n_without_vectors=n_without,
        timings=load_timings(t0, t_candidates, t_embeddings),
        frames=frames,
    )


# Shared with object-level loading (``runs.objects``).
load_candidate_rows = _load_candidates
numeric_or_object = _numeric_or_object
