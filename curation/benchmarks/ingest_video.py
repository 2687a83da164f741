"""Video import benchmark (part of ``manage.py benchmark --suite ingest``): a synthetic 720p
video written with PyAV (a moving pattern; 10 minutes at 30 fps, 1 minute under ``--quick``),
imported into throwaway datasets at the default rate (1 frame per second) and at every frame
(``--video-every 1``). Reports frames imported per second and frames decoded per second.
"""

from __future__ import annotations

import time
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from av.video.stream import VideoStream

from curation.datasets.services import dataset_create, dataset_delete
from curation.imports.services import dataset_import

SIZE = (1280, 720)
FPS = 30


def _codec() -> str:
    try:
        av.codec.Codec("libx264", "w")
    except Exception:  # a wheel without x264: MPEG-4 part 2 is always there
        return "mpeg4"
    return "libx264"


def write_synthetic_video(path: Path, seconds: int, *, fps: int = FPS) -> str:
    """A 720p video of ``seconds`` seconds: a colour gradient scrolling sideways with a white
    square sweeping across it. Returns the codec used."""
    codec = _codec()
    width, height = SIZE
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    base = np.stack(
        [np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)), (x + y) / 2],
        axis=-1,
    ).astype(np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = cast(VideoStream, container.add_stream(codec, rate=Fraction(fps)))
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "23"}
        else:
            stream.bit_rate = 4_000_000
        stream.thread_type = "AUTO"
        for index in range(seconds * fps):
            pixels = np.roll(base, index * 4, axis=1)
            left = (index * 9) % (width - 120)
            pixels[300:420, left : left + 120] = 255
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return codec


def run_video_ingest(stdout: Any, root: Path, quick: bool, owner: Any) -> None:
    seconds = 60 if quick else 600
    folder = root / "videos"
    folder.mkdir()
    started = time.perf_counter()
    codec = write_synthetic_video(folder / "drive.mp4", seconds)
    size_mb = (folder / "drive.mp4").stat().st_size / 1e6
    stdout.write(
        f"  generated a {seconds // 60}-minute 720p {FPS} fps video ({codec}, {size_mb:.0f} MB) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    cases: list[tuple[str, dict[str, Any]]] = [
        ("video, default rate (1 frame/s)", {}),
        ("video, every frame (--video-every 1)", {"video_every": 1}),
    ]
    for label, options in cases:
        dataset = dataset_create(name=f"bench-video-{uuid.uuid4().hex[:8]}", owner=owner)
        try:
            started = time.perf_counter()
            summary = dataset_import(dataset=dataset, images=folder, embed="never", **options)
            total = time.perf_counter() - started
            decode = summary.phases.get("images", total)
            frames = summary.video_frames
            stdout.write(
                f"  {label:<44} {total:8.1f} s  ({frames:,} frames, {frames / total:,.1f} "
                f"frames imported/s; {seconds * FPS / total:,.0f} video frames/s overall)"
            )
            steps = [f"decode + frames + pixels {decode:.1f}"] + [
                f"{name} {value:.1f}"
                for name, value in summary.phases.items()
                if name != "images" and value >= 0.05
            ]
            stdout.write(f"    phases (s): {', '.join(steps)}")
        finally:
            dataset_delete(dataset=dataset)
