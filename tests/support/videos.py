"""Small synthetic videos for tests, written with PyAV (a plain helper module).

:func:`make_video` encodes ``frames`` frames of a moving pattern at ``fps`` frames per second;
frame ``i`` has a distinct mean brightness (:func:`frame_level`) so a test can tell which frame
it got back. :func:`truncate_video` cuts a valid file short, the way an interrupted copy does.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def frame_level(index: int) -> int:
    """The background grey level of frame ``index`` (0..255, distinct for the first 50)."""
    return (index * 5) % 250


def frame_pixels(index: int, size: tuple[int, int]) -> np.ndarray:
    """The RGB pixels (height x width x 3, uint8) of frame ``index``: a grey background whose
    level is :func:`frame_level` with a white square moving left to right."""
    width, height = size
    pixels = np.full((height, width, 3), frame_level(index), dtype=np.uint8)
    side = max(2, min(width, height) // 4)
    x = (index * 3) % max(1, width - side)
    pixels[:side, x : x + side] = 255
    return pixels


def make_video(
    path: Path,
    *,
    frames: int = 10,
    fps: int | float | Fraction = 5,
    size: tuple[int, int] = (64, 48),
    codec: str = "mpeg4",
) -> Path:
    """Write a video of ``frames`` frames at ``fps`` frames per second and ``size`` (width,
    height) to ``path`` (container from its extension: .mp4, .mov, .mkv, .avi, .webm) and
    return the path. ``codec`` is any PyAV encoder (``mpeg4``, ``libx264``, ``libvpx``,
    ``mjpeg``); webm needs ``libvpx``. ``frames=0`` writes a container with a video stream and
    no frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec in {"mpeg4", "mjpeg"}:
            stream.options = {"qscale": "2"}  # near-lossless, so frame levels survive
            stream.bit_rate = 4_000_000
        container.start_encoding()  # the header, even when no frame follows
        for index in range(frames):
            image = av.VideoFrame.from_ndarray(frame_pixels(index, size), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncate_video(path: Path, keep: float = 0.5) -> Path:
    """Cut ``path`` to the first ``keep`` fraction of its bytes (a truncated download)."""
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path
