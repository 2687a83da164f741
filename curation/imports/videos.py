"""Videos in an import folder: each video becomes one ``Video`` row and its kept frames become
samples, all or nothing with the rest of the import (``imports.services``).

Steps, inside ``dataset_import``:

1. ``videos_decode`` (before the image work): every new video of the folder scan is decoded at
   the chosen rate (``formats.video``; default 1 frame per second) and its kept frames are
   written as JPEG files into the import's staging folder (``storage.frames``). Progress is
   reported as stage ``"videos"`` (frames decoded / estimated), and the progress callback —
   which reads the job's cancel flag — runs inside the decode loop. An unreadable or truncated
   video raises ``VideoError`` naming it; the caller removes the staging folder, so nothing is
   left behind.
2. ``frame_image_jobs``: each staged frame goes through the image pipeline exactly like an
   image (``storage.thumbnails.ImageJob``: size, ``lightly.*`` metadata, thumbnail, built-in
   descriptor), in the same worker pool.
3. ``frames_metadata`` adds the built-in keys ``video_name``, ``frame_index`` and
   ``timestamp_s`` to each frame's metadata before the samples are written.
4. ``videos_write`` (inside the import's transaction, after the samples): the ``Video`` rows,
   then ``Sample.video`` / ``Sample.frame_index`` of the frames (bulk, no per-row queries).

The staged frames are moved to ``MEDIA_ROOT/frames/dataset-<id>/`` with the thumbnails after
the transaction commits (``storage.staging``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.formats.records import IngestError
from curation.formats.video import FrameRate, VideoInfo, iter_video_frames, probe_video
from curation.imports.summary import ImportSummary
from curation.models import Dataset, Sample, Video
from curation.storage.frames import frame_file_name, staged_frame_path, write_frame
from curation.storage.thumbnails import ImageJob, thumbnail_relpath

__all__ = [
    "VIDEO_KEYS",
    "DecodedVideo",
    "frame_image_jobs",
    "frames_metadata",
    "videos_decode",
    "videos_write",
]

Progress = Callable[[str, int, int], None]
VIDEO_KEYS = ("video_name", "frame_index", "timestamp_s")  # built-in metadata of a frame
PROGRESS_EVERY_S = 0.1
NAME_CHUNK = 5000


@dataclass
class DecodedVideo:
    name: str  # relative to the import folder
    info: VideoInfo
    step: int  # Video.frame_step
    decoded: int = 0  # frames decoded (Video.frame_count)
    frames: list[tuple[str, int, float, str]] = field(default_factory=list)
    # (sample file name, frame index, timestamp in seconds, staged JPEG path)


def videos_decode(
    *,
    root: Path,
    names: list[str],
    dataset_id: int,
    staging: Path,
    rate: FrameRate,
    progress: Progress | None = None,
) -> list[DecodedVideo]:
    """Decode the videos ``names`` (relative to ``root``, proven inside it by the folder scan)
    and stage their kept frames as JPEGs. Raises ``VideoError`` for the first video that cannot
    be decoded."""
    if not names:
        return []
    paths = [os.path.join(root, name) for name in names]
    infos = [probe_video(path, name=name) for path, name in zip(paths, names, strict=True)]
    estimate = sum(info.frame_count for info in infos)
    done = 0  # frames decoded from the videos before this one
    current = 0  # frames decoded from this video so far
    last = 0.0
    videos = []

    def report(count: int) -> None:  # after every decoded frame: progress and cancel
        nonlocal current, last
        current = count
        now = time.monotonic()
        if progress is not None and now - last >= PROGRESS_EVERY_S:
            last = now
            progress("videos", done + count, max(estimate, done + count))

    for path, name, info in zip(paths, names, infos, strict=True):
        video = DecodedVideo(name=name, info=info, step=info.frame_step(rate))
        current = 0
        for frame in iter_video_frames(path, name=name, rate=rate, on_decoded=report):
            file_name = frame_file_name(name, frame.index)
            staged = staged_frame_path(staging, dataset_id, file_name)
            write_frame(frame.image, staged)
            video.frames.append((file_name, frame.index, frame.timestamp_s, str(staged)))
        video.decoded = current
        done += current
        videos.append(video)
    if progress is not None:
        progress("videos", done, done)
    return videos


def frame_image_jobs(
    videos: list[DecodedVideo], *, dataset_id: int, staging: Path, descriptor: bool
) -> tuple[list[str], list[ImageJob]]:
    """(frame file names, image jobs) for the staged frames: each is processed like an image
    (thumbnail staged under its digest name, ``lightly.*`` metadata, descriptor)."""
    names, jobs = [], []
    thumbs = str(staging)
    for video in videos:
        for file_name, _, _, staged in video.frames:
            names.append(file_name)
            jobs.append(
                ImageJob(
                    staged,
                    os.path.join(thumbs, thumbnail_relpath(dataset_id, file_name)),
                    descriptor,
                )
            )
    return names, jobs


def frames_metadata(videos: list[DecodedVideo], processed: dict[str, dict[str, Any]]) -> None:
    """Add ``video_name``, ``frame_index`` and ``timestamp_s`` to each frame's processed
    metadata; a frame the image pipeline could not read back fails the import."""
    for video in videos:
        for file_name, index, timestamp, _ in video.frames:
            result = processed.get(file_name)
            if result is None:
                raise IngestError(
                    f"Video {video.name} could not be decoded: frame {index} could not be "
                    "stored as an image; nothing was imported."
                )
            result["metadata"] = {
                **result["metadata"],
                "video_name": video.name,
                "frame_index": index,
                "timestamp_s": timestamp,
            }


def videos_write(*, dataset: Dataset, videos: list[DecodedVideo], summary: ImportSummary) -> None:
    """The ``Video`` rows and their frames' ``Sample.video`` / ``frame_index`` (inside the
    caller's transaction, after the samples were written). Frames are counted in
    ``summary.video_frames``, not as images."""
    if not videos:
        return
    rows = Video.objects.bulk_create(
        [
            Video(
                dataset=dataset,
                name=video.name,
                fps=video.info.fps,
                duration_s=video.info.duration_s,
                frame_count=video.decoded,
                width=video.info.width,
                height=video.info.height,
                size_bytes=video.info.size_bytes,
                codec=video.info.codec,
                frame_step=video.step,
            )
            for video in videos
        ]
    )
    frame_of: dict[str, tuple[int, int]] = {}
    for row, video in zip(rows, videos, strict=True):
        for file_name, index, _, _ in video.frames:
            frame_of[file_name] = (row.pk, index)
    names = list(frame_of)
    updates = []
    for start in range(0, len(names), NAME_CHUNK):
        for pk, file_name in Sample.objects.filter(
            dataset=dataset, file_name__in=names[start : start + NAME_CHUNK]
        ).values_list("pk", "file_name"):
            video_id, index = frame_of[file_name]
            updates.append(Sample(pk=pk, video_id=video_id, frame_index=index))
    Sample.objects.bulk_update(updates, ["video", "frame_index"], batch_size=1000)
    summary.videos_added = len(rows)
    summary.video_frames = len(updates)
    summary.images_added -= len(updates)
