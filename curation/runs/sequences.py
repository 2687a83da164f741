"""Sequence runs (``selected_sequence_length`` > 1): the run side of
``curation.selection.sequences``.

- At start (``check_sequences``, from ``runs.prepare``): the candidates must hold at least one
  video with L frames, else one sentence at ``selected_sequence_length`` and nothing written.
- At load (``frame_columns``, from ``runs.load``): each candidate row's video id (-1 for an
  image) and frame index, aligned with ``LoadedInputs.sample_ids``; ``runs.order`` permutes
  them with every other per-row array.
- At execution (``runs.execute``): the engine through ``select_sequences`` when the load filled
  ``LoadedInputs.frames``. The result's rows are frames: the tag, the pick order and the
  explanation list every frame (each frame of a sequence carries its sequence's terms).
"""

from __future__ import annotations

import numpy as np
from django.db.models import Count, QuerySet

from curation.models import Sample
from curation.runs.inputs import SelectionRunError
from curation.selection import SelectionConfig
from curation.selection.kernels_align import RowIndex

PATH = "selected_sequence_length"


def check_sequences(config: SelectionConfig, candidates: QuerySet[Sample]) -> None:
    """Refuse a sequence run whose candidates cannot form one sequence of L frames."""
    L = config.selected_sequence_length
    if L == 1:
        return
    frames = candidates.filter(video__isnull=False)
    if not frames.exists():
        raise SelectionRunError(
            f"{PATH}: no candidate is a video frame, so no sequence of {L} frames can be "
            "selected; import videos or set selected_sequence_length to 1.",
            path=PATH,
        )
    long_enough = (
        frames.order_by().values("video").annotate(n=Count("pk")).filter(n__gte=L).exists()
    )
    if not long_enough:
        raise SelectionRunError(
            f"{PATH}: no video has {L} candidate frames, so no sequence of {L} frames can be "
            "selected; widen the filter or choose a shorter sequence.",
            path=PATH,
        )


def frame_columns(
    candidates: QuerySet[Sample], sample_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(video id or -1, frame index or 0) for each of ``sample_ids`` (all candidates)."""
    rows = list(
        candidates.order_by("pk").values_list("pk", "video_id", "frame_index").iterator(20_000)
    )
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    videos = np.fromiter((-1 if r[1] is None else r[1] for r in rows), np.int64, len(rows))
    frames = np.fromiter((r[2] or 0 for r in rows), dtype=np.int64, count=len(rows))
    at = RowIndex(ids).align(np.asarray(sample_ids, dtype=np.int64))
    return videos[at], frames[at]
