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
- In the selection dialog (``video_frame_counts``, ``SequenceCounts``): how many whole
  sequences of L frames the candidates can form, so that n_samples is chosen in sequences.
- After the run: "keep the first k" keeps whole sequences (``runs.keep_first``).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def video_frame_counts(candidates: QuerySet[Sample]) -> tuple[list[int], int]:
    """(the number of candidate frames of each video that has some, the number of candidates
    that are no video frame): one grouped query and one count."""
    per_video = list(
        candidates.filter(video__isnull=False)
        .order_by()
        .values("video")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True)
    )
    return [int(n) for n in per_video], candidates.filter(video__isnull=True).count()


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class SequenceCounts:
    """What ``selected_sequence_length`` = ``length`` makes of the candidates: each video's
    candidate frames are cut into chunks of L (``curation.selection.sequences``), the trailing
    incomplete chunk and the samples that are no video frame are left out. ``sequences`` is an
    upper bound: a masked frame masks its whole sequence."""

    length: int
    frames: int
    videos: int
    sequences: int
    trailing: int
    not_frames: int

    @classmethod
    def of(cls, per_video: list[int], not_frames: int, length: int) -> SequenceCounts:
        return cls(
            length=length,
            frames=sum(per_video),
            videos=len(per_video),
            sequences=sum(n // length for n in per_video),
            trailing=sum(n % length for n in per_video),
            not_frames=not_frames,
        )

    def describe(self, n_samples: int | None = None) -> str:
        """Sentences for the dialog, e.g. "120 frames in 3 videos: at most 15 whole sequences
        of 8 frames, so n_samples is a multiple of 8 up to 120." """
        L = self.length
        if self.frames == 0:
            return (
                f"No candidate is a video frame, so no sequence of {L} frames can be selected; "
                "filter to videos or set the sequence length to 1."
            )
        head = f"{_plural(self.frames, 'frame')} in {_plural(self.videos, 'video')}"
        if self.sequences == 0:
            return (
                f"{head}, but no video has {L} candidate frames, so no sequence of {L} frames "
                "can be selected; widen the filter or choose a shorter sequence."
            )
        text = (
            f"{head}: at most {_plural(self.sequences, 'whole sequence')} of {L} frames, so "
            f"n_samples is a multiple of {L} up to {self.sequences * L:,}."
        )
        left = []
        if self.trailing:
            verb = "completes" if self.trailing == 1 else "complete"
            left.append(f"{_plural(self.trailing, 'trailing frame')} that {verb} no sequence")
        if self.not_frames:
            verb = "is" if self.not_frames == 1 else "are"
            left.append(f"{_plural(self.not_frames, 'sample')} that {verb} no video frame")
        if left:
            text += " Left out: " + " and ".join(left) + "."
        if n_samples is not None and n_samples > self.sequences * L:
            text += (
                f" n_samples = {n_samples:,} asks for {n_samples // L:,} sequences; at most "
                f"{self.sequences:,} can be selected."
            )
        return text
