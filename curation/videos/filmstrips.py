"""The browser's filmstrips: the frames of one result page grouped by video.

The browser pages its results by id (``curation.browse.selectors.result_page``); this groups
only that page, so a dataset with a million frames costs the same as one with a hundred: one
query for the page's videos. Each strip holds the page's frames of one video in frame order,
strips in the order their first frame appears; images (samples without a video) stay in the
grid. A ranked filter (``text=``, ``similar_to=``) is left ungrouped: its order is the point.
"""

from __future__ import annotations

from dataclasses import dataclass

from curation.models import Sample, Video


@dataclass(frozen=True)
class Filmstrip:
    video: Video
    frames: list[Sample]

    @property
    def first_index(self) -> int:
        return int(self.frames[0].frame_index or 0)

    @property
    def last_index(self) -> int:
        return int(self.frames[-1].frame_index or 0)


def page_filmstrips(samples: list[Sample], *, ranked: bool) -> tuple[list[Filmstrip], list[Sample]]:
    """(filmstrips, images) of one result page; everything stays in the grid when ``ranked``."""
    frames = [s for s in samples if s.video_id is not None]
    if ranked or not frames:
        return [], samples
    videos = Video.objects.in_bulk({s.video_id for s in frames})
    groups: dict[int, list[Sample]] = {}
    for sample in frames:
        groups.setdefault(int(sample.video_id), []).append(sample)  # type: ignore[arg-type]
    strips = [
        Filmstrip(video=videos[video_id], frames=sorted(group, key=_frame_order))
        for video_id, group in groups.items()
    ]
    return strips, [s for s in samples if s.video_id is None]


def _frame_order(sample: Sample) -> tuple[int, int]:
    return (int(sample.frame_index or 0), sample.pk)
