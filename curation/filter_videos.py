"""The filter language's video parameters (``curation.filters`` parses and applies them):

=========================  ===========================================================
``video=NAME``             a frame of one of the listed videos (repeat the parameter);
                           NAME is the video's name (``Video.name``)
``frames=START-END``       a frame whose index in its video lies in [START, END], both
                           inclusive; either end may be left open (``frames=100-``,
                           ``frames=-50``) and ``frames=N`` is the one frame N
=========================  ===========================================================

Both match frames only (an image has no video and no frame index) and compose with every other
parameter. Errors are ``VideoFilterError`` sentences that name the parameter; ``curation.filters``
turns them into ``FilterError``. A video name that the dataset does not have is an error, as an
unknown tag is, so a typo never silently matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db.models import Q

from curation.models import Dataset, Video

FrameRange = tuple[int | None, int | None]  # (first, last) frame index, None = open
MAX_FRAME_INDEX = 2**31 - 1  # Sample.frame_index is a PositiveIntegerField
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$", re.ASCII)
_SYNTAX = "use START-END with whole frame numbers, e.g. frames=100-250, frames=100- or frames=-50"


class VideoFilterError(ValueError):
    """A ``video=`` or ``frames=`` parameter that cannot be applied; one sentence."""


def frames_parse(value: str) -> FrameRange:
    """``START-END`` (either end open) or ``N`` as an inclusive frame-index range."""
    text = value.strip()
    start: int | None
    end: int | None
    if text.isascii() and text.isdigit():
        start = end = _index(value, text)
    else:
        match = _RANGE.match(text)
        if match is None:
            raise VideoFilterError(f"Filter parameter frames={value!r} is not a range: {_SYNTAX}.")
        low, high = match.groups()
        if not low and not high:
            raise VideoFilterError(
                f"Filter parameter frames={value!r} needs a start, an end or both: {_SYNTAX}."
            )
        start = _index(value, low) if low else None
        end = _index(value, high) if high else None
    if start is not None and end is not None and start > end:
        raise VideoFilterError(
            f"Filter parameter frames={value!r} starts after it ends: give the smaller frame "
            "number first."
        )
    return (start, end)


def frames_text(frames: FrameRange) -> str:
    """The parameter's value as ``frames_parse`` reads it back."""
    start, end = frames
    if start is not None and start == end:
        return str(start)
    return f"{'' if start is None else start}-{'' if end is None else end}"


def video_pairs(videos: Sequence[str], frames: FrameRange | None) -> list[tuple[str, str]]:
    pairs = [("video", name) for name in videos]
    return pairs + ([("frames", frames_text(frames))] if frames else [])


def video_describe(videos: Sequence[str], frames: FrameRange | None) -> list[str]:
    """Parts of ``SampleFilter.describe``: 'frames of video a.mp4 or b.mp4', 'frames 10 to 20'."""
    parts = []
    if videos:
        plural = "s" if len(videos) > 1 else ""
        parts.append(f"frames of video{plural} " + " or ".join(videos))
    if frames:
        start, end = frames
        if start is not None and end is not None:
            parts.append(f"frame {start}" if start == end else f"frames {start} to {end}")
        elif start is not None:
            parts.append(f"frames {start} and later")
        else:
            parts.append(f"frames up to {end}")
    return parts


def video_condition(dataset: Dataset, videos: Sequence[str], frames: FrameRange | None) -> Q:
    """The samples that are frames of these videos (any video when none is named) within the
    frame range. Unknown names raise ``VideoFilterError`` naming the first one."""
    condition = Q(video__isnull=False)
    if videos:
        found = dict(
            Video.objects.filter(dataset=dataset, name__in=set(videos)).values_list("name", "pk")
        )
        missing = [name for name in videos if name not in found]
        if missing:
            raise VideoFilterError(
                f"No video named {missing[0]!r} in dataset {dataset.name!r}: use a name from "
                "the dataset's Videos page."
            )
        condition &= Q(video_id__in=sorted(found.values()))
    if frames:
        start, end = frames
        if start is not None:
            condition &= Q(frame_index__gte=start)
        if end is not None:
            condition &= Q(frame_index__lte=end)
    return condition


def _index(value: str, digits: str) -> int:
    number = int(digits)
    if number > MAX_FRAME_INDEX:
        raise VideoFilterError(
            f"Filter parameter frames={value!r} names a frame past {MAX_FRAME_INDEX:,}: no video "
            "has that many frames."
        )
    return number
