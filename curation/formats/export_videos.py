"""The ``video_frames`` export: the video frames of a tag as CSV, for tools that cut clips or
re-decode frames. Pure: no Django; the rows come from ``curation.tags.export`` with each
sample's video loaded (``ExportFormat.frames``).

Columns: ``video`` (the video's name, its path relative to the import folder), ``frame_index``
(in the video's decoded stream), ``timestamp_s`` (the frame's ``timestamp_s`` metadata, else
``frame_index / fps``), ``file_name`` (the frame's sample file name). One row per frame of the
tag, grouped per video (by name) in frame order; samples that are no video frame are left out.
Text cells are formula-neutralised like every CSV of the exports (``cells.spreadsheet_safe``).
"""

from __future__ import annotations

import csv
import math
import uuid
from pathlib import Path
from typing import Any

from curation.formats.cells import spreadsheet_safe

VIDEO_FRAME_COLUMNS = ("video", "frame_index", "timestamp_s", "file_name")


def frame_timestamp(sample: Any) -> float | None:
    """Seconds from the video's start: the import's ``timestamp_s``, else index / fps."""
    value = sample.metadata.get("timestamp_s") if isinstance(sample.metadata, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    fps = sample.video.fps
    if sample.frame_index is None or not fps or not math.isfinite(fps) or fps <= 0:
        return None
    return sample.frame_index / fps


def video_frame_rows(samples: list[Any]) -> list[tuple[str, int, float | None, str]]:
    """``(video, frame_index, timestamp_s, file_name)`` of every frame, per video in frame
    order."""
    frames = [s for s in samples if s.video_id is not None]
    frames.sort(key=lambda s: (s.video.name, s.frame_index or 0, s.file_name))
    return [(s.video.name, s.frame_index or 0, frame_timestamp(s), s.file_name) for s in frames]


def write_video_frames_csv(path: Path, rows: Any) -> None:
    """The CSV of ``rows.samples``' video frames (see the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # renamed into place when done
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(VIDEO_FRAME_COLUMNS)
            for video, index, timestamp, file_name in video_frame_rows(rows.samples):
                writer.writerow(
                    [
                        spreadsheet_safe(video),
                        index,
                        "" if timestamp is None else repr(timestamp),
                        spreadsheet_safe(file_name),
                    ]
                )
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
