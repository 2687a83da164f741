"""Videos made directly as rows (no decoding): a ``Video`` and its frame samples, with the
metadata an import writes (``video_name``, ``frame_index``, ``timestamp_s``) and a small JPEG
per frame where the frames store keeps it (``curation.storage.frames``), so the media views
serve it."""

from __future__ import annotations

from PIL import Image

from curation.models import Dataset, Sample, Video
from curation.storage.frames import frame_file_name, frames_root, write_frame
from curation.storage.paths import safe_join


def video_with_frames(
    dataset: Dataset,
    name: str,
    *,
    frames: int = 10,
    fps: float = 10.0,
    step: int = 1,
    files: bool = True,
) -> tuple[Video, list[Sample]]:
    """A video of ``frames * step`` decoded frames of which every ``step``-th is a sample."""
    video = Video.objects.create(
        dataset=dataset,
        name=name,
        fps=fps,
        duration_s=frames * step / fps,
        frame_count=frames * step,
        width=32,
        height=24,
        size_bytes=12_345,
        codec="h264",
        frame_step=step,
    )
    rows = []
    for i in range(frames):
        index = i * step
        file_name = frame_file_name(name, index)
        if files:
            path = safe_join(frames_root(dataset.pk), file_name)
            write_frame(Image.new("RGB", (32, 24), (index * 7 % 256, 90, 160)), path)
        rows.append(
            Sample(
                dataset=dataset,
                file_name=file_name,
                width=32,
                height=24,
                video=video,
                frame_index=index,
                metadata={"video_name": name, "frame_index": index, "timestamp_s": index / fps},
            )
        )
    return video, list(Sample.objects.bulk_create(rows))
