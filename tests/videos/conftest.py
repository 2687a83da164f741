"""A dataset with two videos and two images, alice's, shared with bob's team."""

from __future__ import annotations

import pytest
from PIL import Image

from curation.models import Sample
from tests.support.video_rows import video_with_frames


@pytest.fixture
def clips(dataset, image_root):
    """drive.mp4 (12 frames, 0..11, 10 fps), park.mp4 (5 frames every 3rd: 0, 3, .., 12) and
    two images under ``image_root``; every frame has its file in the frames store."""
    dataset.image_root = str(image_root)
    dataset.save(update_fields=["image_root"])
    drive, drive_frames = video_with_frames(dataset, "drive.mp4", frames=12)
    park, park_frames = video_with_frames(dataset, "park.mp4", frames=5, step=3, fps=30)
    images = []
    for i in range(2):
        Image.new("RGB", (40, 30), (200, 10 * i, 10)).save(image_root / f"photo_{i}.png")
        images.append(Sample(dataset=dataset, file_name=f"photo_{i}.png", width=40, height=30))
    return {
        "drive": drive,
        "park": park,
        "drive_frames": drive_frames,
        "park_frames": park_frames,
        "images": Sample.objects.bulk_create(images),
    }
