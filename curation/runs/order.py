"""Candidate order: the order in which a run's engine sees its candidates.

The engine's rows are the candidates in *candidate order*, and that order decides exactly what
``shared/selection-semantics.md`` leaves to "the candidate index":

- a tie of the objective goes to the earliest candidate (NaN counts as -inf);
- DIVERSITY alone (no pre-selection) starts at the first candidate;
- RANDOM draws its i-th number (``default_rng(random_seed)``) for the i-th candidate;
- pre-selected samples enter the result first, in candidate order.

The order:

- Without an ordering filter: ascending sample id, exactly as before (``runs.load``); nothing
  here touches such a run, so its picks are unchanged.
- With ``text=QUERY`` in the candidate filter: rank order, best match first — the cosine between
  the sample's vector and the encoded query, ties by id, candidates without a vector in the text
  space last by id (``curation.filters_text.text_rank_ids``), the very order the samples page and
  the API list the candidates in. So a tie goes to the better match, diversity starts at the best
  match, a constant weight picks the n best matches, and a RANDOM input with the same seed and
  the same query gives the same result (a different one than without ``text=``).
- With ``similar_to=ID[,ID…]`` (and ``space=``) in the candidate filter: nearest first — the
  query samples themselves, then by the smallest distance to any of them, candidates without a
  vector last (``curation.filters_similar.similar_rank_ids``), again the samples page's order.
  So diversity starts at a query sample, ties go to the nearer candidate, and a constant weight
  picks the n nearest. ``text=`` and ``similar_to=`` are never both in one filter (each
  replaces the other), and a saved view (``view=NAME``) is expanded before the run starts.
- Object-level runs: the boxes follow their image's rank (stable: an image's boxes keep their
  loaded order).

The permutation is applied once, after loading, to every per-row array of ``ArrayData`` and to
``LoadedInputs.sample_ids`` / ``object_ids`` / ``frames``, so row ``i`` stays one candidate
everywhere (``PER_ROW`` / ``SHARED`` name every ``ArrayData`` field; a test keeps them complete).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from curation.filters import FilterError
from curation.filters_similar import similar_rank_ids
from curation.filters_text import text_rank_ids
from curation.runs.inputs import SelectionRunError
from curation.runs.load import LoadedInputs
from curation.runs.prepare import PreparedRun
from curation.selection import ArrayData
from curation.selection.kernels_align import RowIndex

PER_ROW = frozenset({"embeddings", "metadata", "scores", "predictions", "masked", "preselected"})
SHARED = frozenset({"queries", "n"})


def candidate_rank(prepared: PreparedRun) -> np.ndarray | None:
    """The candidates' sample ids in candidate order, or None for id order (no ``text=`` and
    no ``similar_to=``)."""
    f = prepared.sample_filter
    try:
        if f.similar_to:
            return similar_rank_ids(prepared.dataset, f, prepared.candidates)
        return text_rank_ids(prepared.dataset, f, prepared.candidates)
    except FilterError as exc:
        raise SelectionRunError(str(exc), path="candidate_filter") from None


def _take(array: np.ndarray, perm: np.ndarray) -> np.ndarray:
    return np.take(array, perm, axis=0)


def _data_in_order(data: ArrayData, perm: np.ndarray) -> ArrayData:
    return replace(
        data,
        embeddings={k: _take(v, perm) for k, v in data.embeddings.items()},
        metadata={k: _take(v, perm) for k, v in data.metadata.items()},
        scores={k: _take(v, perm) for k, v in data.scores.items()},
        predictions={k: (_take(m, perm), c) for k, (m, c) in data.predictions.items()},
        masked=None if data.masked is None else _take(data.masked, perm),
        preselected=None if data.preselected is None else _take(data.preselected, perm),
    )


def loaded_in_order(loaded: LoadedInputs, rank: np.ndarray, note: str = "") -> LoadedInputs:
    """``loaded`` with its rows in the order of ``rank`` (sample ids, best first); rows of a
    sample missing from ``rank`` (added since it was computed) follow, in their loaded order."""
    rows, found = RowIndex(np.asarray(rank, dtype=np.int64)).find(loaded.sample_ids)
    key = np.where(found, rows, len(rank))
    perm = np.argsort(key, kind="stable")
    notes = (*loaded.notes, note) if note else loaded.notes
    if np.array_equal(perm, np.arange(len(perm))):
        return replace(loaded, notes=notes)
    frames = loaded.frames
    return replace(
        loaded,
        sample_ids=loaded.sample_ids[perm],
        object_ids=None if loaded.object_ids is None else loaded.object_ids[perm],
        data=_data_in_order(loaded.data, perm),
        notes=notes,
        frames=None if frames is None else (frames[0][perm], frames[1][perm]),
    )


def candidate_order_note(prepared: PreparedRun) -> str:
    """The run's message line saying the candidates were ranked (empty for id order)."""
    f = prepared.sample_filter
    if f.similar_to:
        where = f" in {f.space!r}" if f.space else ""
        more = ", …" if len(f.similar_to) > 5 else ""
        shown = ", ".join(str(pk) for pk in f.similar_to[:5]) + more
        return (
            f"Candidates nearest first to sample(s) {shown}{where}: ties go to the nearer "
            "candidate."
        )
    if not f.text:
        return ""
    where = f" in {f.space!r}" if f.space else ""
    return (
        f"Candidates in text-search order for {f.text!r}{where} (best match first): ties go to "
        "the better match."
    )


def loaded_in_candidate_order(prepared: PreparedRun, loaded: LoadedInputs) -> LoadedInputs:
    """The loaded run in candidate order (unchanged, the same object, for id order)."""
    rank = candidate_rank(prepared)
    if rank is None:
        return loaded
    return loaded_in_order(loaded, rank, candidate_order_note(prepared))
