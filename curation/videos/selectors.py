"""Reads behind the video pages and the video API: a dataset's videos, one video's stored frames
and the tags those frames are in (the timeline).

A video's frames are samples (``Sample.video``, ``Sample.frame_index``); the index
``sample_video_frame_idx`` (video, frame_index) makes every read here one range scan of one
video, whatever the size of the dataset. The timeline is one grouped query over the video's
tag memberships, compressed into runs of consecutive stored frames, so a tag that holds a
thousand frames in a row is one mark, not a thousand.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from curation.filter_videos import frames_text
from curation.filters import SampleFilter
from curation.models import Dataset, Sample, Tag, TagSample, Video

SIDEBAR_VIDEOS = 50  # videos offered as checkboxes in the browser's sidebar
_HAS_VIDEOS = "_curation_has_videos"


@dataclass(frozen=True)
class VideoFrames:
    """The stored frames of one video in frame order, as parallel lists."""

    ids: list[int]
    indexes: list[int]
    times: list[float]  # seconds: the frame's ``timestamp_s`` metadata, else index / fps

    def position_of(self, frame_index: int) -> int:
        """The position of the last stored frame at or before ``frame_index`` (0 if none)."""
        return max(bisect_right(self.indexes, frame_index) - 1, 0)


@dataclass(frozen=True)
class TimelineMark:
    """Stored frames ``first``..``last`` (positions in ``VideoFrames``) that are all in the tag."""

    first: int
    last: int
    start_index: int  # frame index of the first frame
    end_index: int  # frame index of the last frame
    x: int  # where the mark starts on the timeline (a frame index)
    width: int  # in frame indexes, so consecutive stored frames touch


@dataclass
class TimelineRow:
    tag: Tag
    frame_count: int
    marks: list[TimelineMark] = field(default_factory=list)

    @property
    def is_pick(self) -> bool:
        """A selection run's result: its frames are the run's picks."""
        return bool(self.tag.kind == Tag.Kind.SELECTION)


def dataset_has_videos(dataset: Dataset) -> bool:
    """Whether the dataset has a video (the tabs show "Videos"); remembered on the instance,
    which lives for one request, so the browser's tabs and sidebar ask the database once."""
    known = getattr(dataset, _HAS_VIDEOS, None)
    if known is None:
        known = Video.objects.filter(dataset=dataset).exists()
        setattr(dataset, _HAS_VIDEOS, known)
    return bool(known)


def videos_with_cover(dataset: Dataset) -> QuerySet[Video]:
    """The dataset's videos by name, each with ``cover_id``: its first stored frame (or None)."""
    first = Sample.objects.filter(video=OuterRef("pk")).order_by("frame_index", "pk")
    return (
        Video.objects.filter(dataset=dataset)
        .annotate(cover_id=Subquery(first.values("pk")[:1]))
        .order_by("name", "pk")
    )


def video_get(dataset: Dataset, video_id: int) -> Video:
    """The dataset's video with this id, else 404 (the dataset is already access-checked)."""
    video = videos_with_cover(dataset).filter(pk=video_id).first()
    if video is None:
        raise Http404("No such video in this dataset.")
    return video


def video_frames(video: Video) -> VideoFrames:
    rows = (
        Sample.objects.filter(video=video)
        .order_by("frame_index", "pk")
        .values_list("pk", "frame_index", "metadata__timestamp_s")
    )
    ids: list[int] = []
    indexes: list[int] = []
    times: list[float] = []
    for pk, index, stamp in rows:
        frame_index = int(index or 0)
        ids.append(pk)
        indexes.append(frame_index)
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            times.append(round(float(stamp), 3))
        else:
            times.append(round(frame_index / video.fps, 3) if video.fps > 0 else 0.0)
    return VideoFrames(ids=ids, indexes=indexes, times=times)


def video_timeline(video: Video, frames: VideoFrames) -> list[TimelineRow]:
    """One row per tag holding at least one of the video's frames (selection tags first, then
    by name), each with its marks: runs of consecutive stored frames in the tag."""
    position = {pk: i for i, pk in enumerate(frames.ids)}
    members = TagSample.objects.filter(sample__video=video).values_list("tag_id", "sample_id")
    positions: dict[int, list[int]] = {}
    for tag_id, sample_id in members:
        if sample_id in position:
            positions.setdefault(tag_id, []).append(position[sample_id])
    tags = Tag.objects.filter(pk__in=positions).only("id", "name", "kind", "dataset_id")
    step = max(int(video.frame_step or 1), 1)
    rows = [
        TimelineRow(
            tag=tag,
            frame_count=len(positions[tag.pk]),
            marks=_marks(positions[tag.pk], frames, step),
        )
        for tag in tags
    ]
    rows.sort(key=lambda row: (not row.is_pick, row.tag.name))
    return rows


def timeline_width(video: Video, frames: VideoFrames) -> int:
    """The timeline's extent in frame indexes (at least 1)."""
    step = max(int(video.frame_step or 1), 1)
    last = frames.indexes[-1] + step if frames.indexes else 0
    return max(last, int(video.frame_count or 0), 1)


def _marks(positions: list[int], frames: VideoFrames, step: int) -> list[TimelineMark]:
    """Runs of consecutive stored frames, placed at their frame indexes."""
    marks: list[TimelineMark] = []
    ordered = sorted(set(positions))
    first = previous = ordered[0]
    for pos in [*ordered[1:], -1]:  # -1: a sentinel that ends the last run
        if pos != previous + 1:
            start, end = frames.indexes[first], frames.indexes[previous]
            marks.append(TimelineMark(first, previous, start, end, start, end - start + step))
            first = pos
        previous = pos
    return marks


def sidebar_videos(dataset: Dataset, sample_filter: SampleFilter) -> dict[str, Any]:
    """The browser sidebar's video filter: up to ``SIDEBAR_VIDEOS`` names (by name), whether
    there are more, and the chosen frame range as typed back into its field."""
    names = list(
        Video.objects.filter(dataset=dataset)
        .order_by("name")
        .values_list("name", flat=True)[: SIDEBAR_VIDEOS + 1]
    )
    setattr(dataset, _HAS_VIDEOS, bool(names))  # answers dataset_has_videos for the tabs
    return {
        "video_names": names[:SIDEBAR_VIDEOS],
        "videos_more": len(names) > SIDEBAR_VIDEOS,
        "frames_value": frames_text(sample_filter.frames) if sample_filter.frames else "",
    }
