"""Videos through the Python client against a live ``manage.py serve``: ``add_images_from_path``
with ``video_every`` / ``video_fps`` (in place below an import root and uploaded), the Video
rows and frame samples it creates, a bad rate as one sentence, and ``Run.keep_first`` on a
sequence run keeping whole sequences.

The videos are generated with PyAV (``tests.support.videos``): 20 frames at 10 fps (2 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import curation.client as cur
from tests.support.client import LiveServer, make_images
from tests.support.videos import make_video

VIDEO = "clips/drive.mp4"


def video_folder(folder: Path) -> Path:
    """``clips/drive.mp4`` (20 frames at 10 fps) and one image, ``img_000.png``."""
    make_video(folder / VIDEO, frames=20, fps=10)
    make_images(folder, 1)
    return folder


def frames_of(dataset: cur.ImageDataset) -> list[dict[str, Any]]:
    """The frame samples' built-in metadata, in frame order."""
    rows = [s.metadata | {"file_name": s.file_name} for s in dataset.query()]
    frames = [r for r in rows if "video_name" in r]
    return sorted(frames, key=lambda r: r["frame_index"])


def videos_of(dataset: cur.ImageDataset) -> list[dict[str, Any]]:
    return list(dataset.connection.pages(f"datasets/{dataset.id}/videos/"))


def test_video_every_keeps_every_kth_frame_in_place(
    live: LiveServer, alice: cur.Connection, unique: str
) -> None:
    folder = video_folder(live.import_root / unique)
    dataset = cur.ImageDataset.create(unique)
    summary = dataset.add_images_from_path(folder, embed=False, show_progress=False, video_every=3)
    assert summary["images_added"] == 1
    assert summary["videos_added"] == 1 and summary["video_frames"] == 7
    assert dataset.image_root == str(folder.resolve())  # in place: nothing uploaded
    frames = frames_of(dataset)
    assert [f["frame_index"] for f in frames] == [0, 3, 6, 9, 12, 15, 18]
    assert [f["timestamp_s"] for f in frames] == pytest.approx([i / 10 for i in range(0, 20, 3)])
    assert {f["video_name"] for f in frames} == {VIDEO}
    assert frames[1]["file_name"] == "clips/drive.mp4/drive-000003.jpg"
    assert len(dataset) == 8  # 7 frames and the image
    [video] = videos_of(dataset)
    assert video["name"] == VIDEO and video["frame_step"] == 3
    assert video["fps"] == pytest.approx(10) and video["frame_count"] == 20
    assert (video["width"], video["height"]) == (64, 48)


def test_video_fps_keeps_n_frames_per_second_when_uploaded(
    alice: cur.Connection, unique: str, tmp_path: Path
) -> None:
    folder = video_folder(tmp_path / "shot")  # below no import root: uploaded, then committed
    dataset = cur.ImageDataset.create(unique)
    summary = dataset.add_images_from_path(folder, embed=False, show_progress=False, video_fps=2)
    assert dataset.image_root.endswith(f"/datasets/{dataset.id}/upload/images")
    assert summary["images_added"] == 1 and summary["video_frames"] == 4
    frames = frames_of(dataset)
    assert [f["frame_index"] for f in frames] == [0, 5, 10, 15]
    assert [f["timestamp_s"] for f in frames] == pytest.approx([0.0, 0.5, 1.0, 1.5])
    [video] = videos_of(dataset)
    assert video["frame_step"] == 5 and video["frame_count"] == 20


def test_neither_option_keeps_one_frame_per_second(
    live: LiveServer, alice: cur.Connection, unique: str
) -> None:
    folder = video_folder(live.import_root / unique)
    dataset = cur.ImageDataset.create(unique)
    summary = dataset.add_images_from_path(folder, embed=False, show_progress=False)
    assert summary["video_frames"] == 2
    assert [f["frame_index"] for f in frames_of(dataset)] == [0, 10]


@pytest.mark.parametrize("in_place", [True, False])
def test_both_options_are_one_sentence_and_import_nothing(
    live: LiveServer, alice: cur.Connection, unique: str, tmp_path: Path, in_place: bool
) -> None:
    folder = video_folder((live.import_root if in_place else tmp_path) / unique)
    dataset = cur.ImageDataset.create(unique)
    with pytest.raises(cur.BadRequestError, match="Give either video_every or video_fps, not both"):
        dataset.add_images_from_path(
            folder, embed=False, show_progress=False, video_every=2, video_fps=2
        )
    dataset.refresh()
    assert len(dataset) == 0 and videos_of(dataset) == []


@pytest.mark.parametrize(
    ("option", "sentence"),
    [
        ({"video_every": 0}, "video_every: Ensure this value is greater than or equal to 1."),
        ({"video_fps": 0}, "video_fps: Ensure this value is greater than or equal to 0.001."),
    ],
)
def test_a_zero_rate_is_refused_not_replaced_by_the_default(
    live: LiveServer, alice: cur.Connection, unique: str, option: dict[str, int], sentence: str
) -> None:
    folder = video_folder(live.import_root / unique)
    dataset = cur.ImageDataset.create(unique)
    with pytest.raises(cur.BadRequestError) as refused:
        dataset.add_images_from_path(folder, embed=False, show_progress=False, **option)
    assert str(refused.value) == sentence
    dataset.refresh()
    assert len(dataset) == 0


def test_keep_first_of_a_sequence_run_keeps_whole_sequences(
    live: LiveServer, alice: cur.Connection, unique: str
) -> None:
    folder = video_folder(live.import_root / unique)
    dataset = cur.ImageDataset.create(unique)
    dataset.add_images_from_path(folder, embed=False, show_progress=False, video_every=1)
    names = [s.file_name for s in dataset.query()]
    assert len(names) == 21  # 20 frames and the image
    vectors = np.random.default_rng(5).normal(size=(len(names), 8)).astype(np.float32)
    dataset.add_embeddings(vectors, names, show_progress=False)
    config = {
        "n_samples": 8,
        "selected_sequence_length": 4,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    }
    run = dataset.query().selection().run_config(config, "clips", show_progress=False)
    assert run.status == "succeeded" and len(run.picks) == 8
    with pytest.raises(cur.BadRequestError) as refused:
        run.keep_first(6)
    assert str(refused.value) == (
        "k: must be a multiple of 4 (this run picked whole sequences of 4 frames); the nearest "
        "are 4 and 8."
    )
    assert run.keep_first(4, "first-clip") == "first-clip"
    kept = list(dataset.tag_query("first-clip"))
    assert {s.id for s in kept} == set(run.picks[:4])
    indexes = sorted(int(s.metadata["frame_index"]) for s in kept)
    assert indexes[0] % 4 == 0 and indexes == list(range(indexes[0], indexes[0] + 4))
