"""Video files: probe one (frame rate, duration, frame count, size, codec) and decode its frames
at a chosen rate — every k-th frame (``every=K``) or N per second (``fps=N``).

PyAV (FFmpeg) does the decoding, with the codec's own threads (``thread_type="AUTO"``). Every
frame is decoded — inter-frame codecs need them all, and that keeps ``frame_index`` (the 0-based
position in decode order) and ``timestamp_s`` (seconds since the first frame) exact — but only
the kept frames are converted to RGB, which is most of the per-frame cost.

Errors are ``VideoError`` (an ``IngestError``): one sentence naming the video by the name the
caller gives (its path relative to the import folder), never a server path or FFmpeg's own
text. A video that cannot be opened, has no video stream, decodes to no frame, or ends early
(fewer frames than its header promises, or well short of its duration: a truncated file) is an
error. Pure Python + PyAV: no Django, no ORM.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
from PIL import Image

from curation.formats.records import IngestError

__all__ = [
    "DEFAULT_VIDEO_FPS",
    "VIDEO_EXTENSIONS",
    "DecodedFrame",
    "FrameRate",
    "VideoError",
    "VideoInfo",
    "frame_rate_check",
    "is_video_name",
    "iter_video_frames",
    "probe_video",
]

# The video files an import reads (case-insensitive).
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm"})
DEFAULT_VIDEO_FPS = 1.0  # frames kept per second when no rate is given
MAX_VIDEO_FPS = 1000.0
_DAMAGED = "the file is damaged, truncated or not a video"


class VideoError(IngestError):
    """A video that cannot be read; the message is one sentence naming it."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"Video {name} could not be decoded: {reason}.")


def is_video_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class FrameRate:
    """Which frames to keep: every ``every``-th decoded frame, or ``fps`` frames per second."""

    every: int | None = None
    fps: float | None = None

    def describe(self) -> str:
        if self.every is not None:
            return "every frame" if self.every == 1 else f"every {self.every}th frame"
        return f"{self.fps:g} frame(s) per second"


def frame_rate_check(every: int | None = None, fps: float | None = None) -> FrameRate:
    """The rate from the ``video_every`` / ``video_fps`` options (at most one; neither = 1 frame
    per second), or an ``IngestError`` saying what is wrong."""
    if every is not None and fps is not None:
        raise IngestError(
            "Give either video_every (every k-th frame) or video_fps (frames per second), not both."
        )
    if every is not None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise IngestError(f"video_every must be a whole number of 1 or more, not {every!r}.")
        return FrameRate(every=every)
    if fps is None:
        return FrameRate(fps=DEFAULT_VIDEO_FPS)
    if (
        isinstance(fps, bool)
        or not isinstance(fps, int | float)
        or not math.isfinite(fps)
        or not 0 < fps <= MAX_VIDEO_FPS
    ):
        raise IngestError(
            f"video_fps must be a number above 0 and at most {MAX_VIDEO_FPS:g}, not {fps!r}."
        )
    return FrameRate(fps=float(fps))


@dataclass(frozen=True)
class VideoInfo:
    fps: float  # average frames per second of the video stream
    duration_s: float
    frame_count: int  # from the header, or estimated from duration x fps (0 = unknown)
    width: int
    height: int
    codec: str
    size_bytes: int

    def frame_step(self, rate: FrameRate) -> int:
        """``Video.frame_step``: every how many decoded frames one is kept (rounded for
        ``fps=N``)."""
        if rate.every is not None:
            return rate.every
        assert rate.fps is not None
        return max(1, round(self.fps / rate.fps)) if self.fps > 0 else 1


@dataclass(frozen=True)
class DecodedFrame:
    index: int  # position in decode order, from 0
    timestamp_s: float  # seconds since the first frame
    image: Image.Image  # RGB


def _open(path: str | Path, name: str) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        raise VideoError(name, _DAMAGED) from None


def _info(container: av.container.InputContainer, name: str, size: int) -> VideoInfo:
    if not container.streams.video:
        raise VideoError(name, "it has no video stream")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    duration = 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    count = int(stream.frames or 0) or (round(duration * fps) if fps and duration else 0)
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise VideoError(name, "its video stream has no picture size")
    codec = stream.codec_context.name or ""
    return VideoInfo(fps, max(0.0, duration), count, width, height, codec[:64], size)


def probe_video(path: str | Path, *, name: str) -> VideoInfo:
    """The header facts of the video at ``path``; ``name`` is how errors call it."""
    size = os.stat(path).st_size
    with _open(path, name) as container:
        return _info(container, name, size)


class _Keeper:
    """Decides per decoded frame whether it is kept (``every`` / ``fps``), exactly."""

    def __init__(self, rate: FrameRate, video_fps: float) -> None:
        self.every = rate.every
        self.fps = rate.fps
        self.kept = 0
        # A frame counts for second k/N when it starts less than half a frame before it.
        self.slack = 0.5 / video_fps if video_fps > 0 else 1e-6

    def keep(self, index: int, timestamp: float) -> bool:
        if self.every is not None:
            return index % self.every == 0
        assert self.fps is not None
        if timestamp + self.slack < self.kept / self.fps:
            return False
        # The next kept frame belongs to the next whole period after this one (gaps skip).
        self.kept = math.floor((timestamp + self.slack) * self.fps) + 1
        return True


def iter_video_frames(
    path: str | Path,
    *,
    name: str,
    rate: FrameRate,
    on_decoded: Callable[[int], None] | None = None,
) -> Iterator[DecodedFrame]:
    """The kept frames of the video at ``path``, in order. ``on_decoded(n)`` is called after
    every decoded frame (kept or not) with the number decoded so far: progress and cancel (it
    may raise to stop). Raises ``VideoError`` when the file cannot be decoded or ends early."""
    size = os.stat(path).st_size
    with _open(path, name) as container:
        info = _info(container, name, size)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        keeper = _Keeper(rate, info.fps)
        time_base = stream.time_base
        first_pts: int | None = None
        index = -1
        last_ts = 0.0
        try:
            for frame in container.decode(stream):
                index += 1
                if frame.pts is not None and time_base is not None:
                    if first_pts is None:
                        first_pts = frame.pts
                    timestamp = float((frame.pts - first_pts) * time_base)
                else:
                    timestamp = index / info.fps if info.fps else 0.0
                last_ts = timestamp
                if keeper.keep(index, timestamp):
                    yield DecodedFrame(index, round(timestamp, 6), frame.to_image())
                if on_decoded is not None:
                    on_decoded(index + 1)
        except (av.error.FFmpegError, EOFError, MemoryError):
            raise VideoError(name, f"frame {index + 1} is damaged ({_DAMAGED})") from None
        decoded = index + 1
        if decoded == 0:
            raise VideoError(name, "it contains no frames")
        if stream.frames and decoded < stream.frames:
            raise VideoError(
                name, f"it ends after {decoded} of {stream.frames} frames (a truncated file)"
            )
        period = 1.0 / info.fps if info.fps else 0.0
        if info.duration_s and last_ts + period < info.duration_s - max(0.5, 2 * period):
            raise VideoError(
                name,
                f"it ends after {last_ts + period:.1f} of {info.duration_s:.1f} seconds "
                "(a truncated file)",
            )
