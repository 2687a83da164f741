"""Reading videos (``curation.formats.video``): probing, frame rates, exact indexes and
timestamps, every container, and one-sentence errors for damaged files."""

from __future__ import annotations

import numpy as np
import pytest

from curation.formats.records import IngestError
from curation.formats.video import (
    FrameRate,
    VideoError,
    frame_rate_check,
    is_video_name,
    iter_video_frames,
    probe_video,
)
from tests.support.videos import frame_level, make_video, truncate_video

CONTAINERS = [("mp4", "mpeg4"), ("mov", "libx264"), ("mkv", "mpeg4"), ("avi", "mjpeg")]
CONTAINERS += [("webm", "libvpx")]


@pytest.mark.parametrize(("extension", "codec"), CONTAINERS)
def test_it_probes_every_container(tmp_path, extension, codec):
    path = make_video(tmp_path / f"a.{extension}", frames=20, fps=10, size=(64, 48), codec=codec)

    info = probe_video(path, name=f"a.{extension}")

    assert (info.fps, info.duration_s, info.width, info.height) == (10.0, 2.0, 64, 48)
    assert info.frame_count == 20
    assert info.codec == {"libx264": "h264", "libvpx": "vp8"}.get(codec, codec)
    assert info.size_bytes == path.stat().st_size


@pytest.mark.parametrize(("extension", "codec"), CONTAINERS)
def test_it_decodes_every_kth_frame_with_exact_indexes_and_timestamps(tmp_path, extension, codec):
    path = make_video(tmp_path / f"a.{extension}", frames=20, fps=10, codec=codec)

    frames = list(iter_video_frames(path, name="a", rate=FrameRate(every=4)))

    assert [f.index for f in frames] == [0, 4, 8, 12, 16]
    assert [f.timestamp_s for f in frames] == [0.0, 0.4, 0.8, 1.2, 1.6]
    assert all(f.image.size == (64, 48) and f.image.mode == "RGB" for f in frames)


def test_the_frames_are_the_right_pictures(tmp_path):
    path = make_video(tmp_path / "a.avi", frames=12, fps=6, codec="mjpeg")

    frames = list(iter_video_frames(path, name="a", rate=FrameRate(every=5)))

    for frame in frames:  # the background level tells which frame it is
        corner = np.asarray(frame.image)[-8:, -8:].mean()
        assert abs(corner - frame_level(frame.index)) < 4, frame.index


@pytest.mark.parametrize(
    ("fps", "per_second", "expected"),
    [
        (10, 1, [0, 10, 20, 30]),
        (10, 2, [0, 5, 10, 15, 20, 25, 30, 35]),
        (10, 3, [0, 3, 7, 10, 13, 17, 20, 23, 27, 30, 33, 37]),
        (5, 10, list(range(20))),  # more than the video has: every frame
        (10, 0.5, [0, 20]),
    ],
)
def test_it_keeps_n_frames_per_second(tmp_path, fps, per_second, expected):
    frames = 40 if fps == 10 else 20
    path = make_video(tmp_path / "a.mp4", frames=frames, fps=fps)

    kept = list(iter_video_frames(path, name="a", rate=FrameRate(fps=per_second)))

    assert [f.index for f in kept] == expected
    assert [f.timestamp_s for f in kept] == [round(i / fps, 6) for i in expected]


def test_it_reports_every_decoded_frame_and_can_be_stopped(tmp_path):
    path = make_video(tmp_path / "a.mp4", frames=15, fps=5)
    seen: list[int] = []

    class Stop(Exception):
        pass

    def on_decoded(count: int) -> None:
        seen.append(count)
        if count == 7:
            raise Stop

    with pytest.raises(Stop):
        list(iter_video_frames(path, name="a", rate=FrameRate(every=1), on_decoded=on_decoded))
    assert seen == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(("extension", "codec"), CONTAINERS)
def test_a_truncated_video_is_an_error_naming_it(tmp_path, extension, codec):
    path = make_video(tmp_path / f"bad.{extension}", frames=30, fps=10, codec=codec)
    truncate_video(path, 0.5)

    with pytest.raises(VideoError) as caught:
        list(iter_video_frames(path, name=f"clips/bad.{extension}", rate=FrameRate(every=1)))

    message = str(caught.value)
    assert message.startswith(f"Video clips/bad.{extension} could not be decoded: ")
    assert str(tmp_path) not in message
    assert isinstance(caught.value, IngestError)


def test_a_file_that_is_no_video_is_an_error(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_bytes(b"this is not a video at all" * 10)

    with pytest.raises(VideoError) as caught:
        probe_video(path, name="notes.mp4")

    assert str(caught.value) == (
        "Video notes.mp4 could not be decoded: the file is damaged, truncated or not a video."
    )


def test_a_video_without_frames_is_an_error(tmp_path):
    path = make_video(tmp_path / "empty.mp4", frames=0)

    with pytest.raises(VideoError) as caught:
        list(iter_video_frames(path, name="empty.mp4", rate=FrameRate(every=1)))

    assert str(caught.value).startswith("Video empty.mp4 could not be decoded: it ")


def test_video_names_are_recognised_case_insensitively():
    assert [is_video_name(n) for n in ["a.MP4", "b.mov", "c.MkV", "d.avi", "e.webm"]] == [True] * 5
    assert [is_video_name(n) for n in ["a.gif", "b.mpg", "c.mp4.txt", "mp4"]] == [False] * 4


def test_the_rate_options_are_checked():
    assert frame_rate_check() == FrameRate(fps=1.0)
    assert frame_rate_check(every=3) == FrameRate(every=3)
    assert frame_rate_check(fps=2.5) == FrameRate(fps=2.5)
    with pytest.raises(IngestError, match="not both"):
        frame_rate_check(every=2, fps=1)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(IngestError, match="video_every must be a whole number"):
            frame_rate_check(every=bad)
    for bad in (0, -2, float("nan"), float("inf"), 5000):
        with pytest.raises(IngestError, match="video_fps must be a number above 0"):
            frame_rate_check(fps=bad)
