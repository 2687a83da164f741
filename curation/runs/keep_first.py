"""Keep only the first k picks of a succeeded run as a new tag (no re-run): the one rule behind
the run page's form (``views_result.run_keep_first``), ``POST /api/runs/{id}/keep-first/`` and
the client's ``Run.keep_first``.

A run with ``selected_sequence_length`` L > 1 picked whole sequences: its pick order lists each
picked sequence's L frames together (in frame order), the sequences in pick order. Keeping the
first k therefore keeps the first k / L sequences, and k must be a multiple of L. Any other k is
refused with one sentence that names L and the nearest valid values, rather than rounded: a tag
with a count the user did not type is a surprise, a sentence with two numbers to pick from is
not.
"""

from __future__ import annotations

from typing import Any

from curation.models import SelectionRun, Tag
from curation.tags.services import tag_create


class KeepFirstError(ValueError):
    """``k`` cannot be kept; ``clause`` completes "k must be …" / "Choose how many to keep: …"."""

    def __init__(self, clause: str) -> None:
        super().__init__(clause)
        self.clause = clause


def run_sequence_length(run: SelectionRun) -> int:
    """The run's ``selected_sequence_length`` (1 for a run of single samples)."""
    config = run.config if isinstance(run.config, dict) else {}
    raw = config.get("selected_sequence_length", 1)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        return 1
    return raw


def _whole(length: int) -> str:
    return f"this run picked whole sequences of {length} frames"


def keep_first_range(*, picks: int, length: int) -> str:
    """What may be kept, as a clause: ``a whole number from 1 to 12`` or ``a multiple of 4
    from 4 to 12 (this run picked whole sequences of 4 frames)``."""
    if length == 1:
        return f"a whole number from 1 to {picks}"
    return f"a multiple of {length} from {length} to {picks} ({_whole(length)})"


def keep_first_problem(*, k: int, picks: int, length: int) -> str | None:
    """Why ``k`` of ``picks`` cannot be kept (a clause, see :class:`KeepFirstError`), or None."""
    if k > picks:
        return f"at most {picks}, the run's pick count"
    if k < 1 or (length > 1 and k < length):
        return keep_first_range(picks=picks, length=length)
    if k % length == 0:
        return None
    nearest = [v for v in (k // length * length, (k // length + 1) * length) if v <= picks]
    if len(nearest) == 2:
        near = f"the nearest are {nearest[0]} and {nearest[1]}"
    else:
        near = f"the nearest is {nearest[0]}"
    return f"a multiple of {length} ({_whole(length)}); {near}"


def keep_first_describe(*, k: int, length: int) -> str:
    """``the first 8 picks`` / ``the first 8 picks (2 whole sequences of 4 frames)``."""
    text = f"the first {k} pick{'' if k == 1 else 's'}"
    if length > 1:
        sequences = k // length
        text += f" ({sequences} whole sequence{'' if sequences == 1 else 's'} of {length} frames)"
    return text


def run_keep_first(*, run: SelectionRun, k: int, name: str | None, user: Any) -> Tag:
    """A new selection tag with the first ``k`` picks of ``run``'s stored order (whole
    sequences for a sequence run). Raises :class:`KeepFirstError` for a ``k`` that cannot be
    kept, ``TagError`` for a bad or taken name; nothing is written then."""
    order = list(run.pick_order or [])
    length = run_sequence_length(run)
    problem = keep_first_problem(k=k, picks=len(order), length=length)
    if problem is not None:
        raise KeepFirstError(problem)
    return tag_create(
        dataset=run.dataset,
        name=name or f"{run.result_tag_name}-first-{k}",
        sample_ids=order[:k],
        kind=Tag.Kind.SELECTION,
        created_by=user,
        description=f"T{keep_first_describe(k=k, length=length)[1:]} of selection run {run.pk}",
    )
