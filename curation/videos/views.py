"""Video pages: the dataset's videos (``/datasets/<id>/videos/``) and one video's frame viewer
(``/datasets/<id>/videos/<video_id>/``).

The viewer shows one stored frame large, with a scrubber over the stored frames and a timeline
of the tags holding them (``curation.videos.selectors``). ``?frame=N`` (a frame index) picks the
frame shown first (the last stored frame at or before N), so a timeline mark, a filmstrip and a
reload all land on the same frame without JavaScript; ``static/curation/video-page.js`` steps
through the frames in place and keeps ``?frame=`` in the URL.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from curation.access import get_dataset_for_user
from curation.filters import SampleFilter
from curation.videos.selectors import (
    timeline_width,
    video_frames,
    video_get,
    video_timeline,
    videos_with_cover,
)
from curation.web.errors import BadInput
from curation.web.pages import HtmxRequest, render_page

VIDEOS_PER_PAGE = 100


@login_required
@require_safe
def video_list(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    page = Paginator(videos_with_cover(dataset), VIDEOS_PER_PAGE).get_page(request.GET.get("page"))
    videos = list(page.object_list)
    for video in videos:  # every frame_step-th decoded frame is kept (no count over the frames)
        video.kept_frames = -(-video.frame_count // max(video.frame_step, 1))  # type: ignore[attr-defined]
        video.browse_query = SampleFilter(videos=(video.name,)).to_querystring()  # type: ignore[attr-defined]
    context = {"dataset": dataset, "videos": videos, "page": page}
    return render_page(request, "curation/videos.html", context)


@login_required
@require_safe
def video_detail(request: HtmxRequest, dataset_id: int, video_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    video = video_get(dataset, video_id)
    frames = video_frames(video)
    position = frames.position_of(_frame_param(request))
    current = (
        {
            "position": position,
            "id": frames.ids[position],
            "index": frames.indexes[position],
            "time": frames.times[position],
        }
        if frames.ids
        else None
    )
    browse_query = SampleFilter(videos=(video.name,)).to_querystring()
    context: dict[str, Any] = {
        "dataset": dataset,
        "video": video,
        "frames": frames,
        "frames_data": {"ids": frames.ids, "indexes": frames.indexes, "times": frames.times},
        "current": current,
        "timeline": video_timeline(video, frames),
        "timeline_width": timeline_width(video, frames),
        "browse_query": browse_query,
        # URL patterns for the script: "{id}" stands for a sample id.
        "image_url": _with_placeholder("sample-image", []),
        "sample_url": _with_placeholder("sample-detail", [dataset.pk]) + "?" + browse_query,
    }
    return render_page(request, "curation/video_detail.html", context)


def _frame_param(request: HtmxRequest) -> int:
    raw = request.GET.get("frame", "").strip()
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
        raise BadInput(f"frame={raw[:40]!r} must be a frame number (a whole number, 0 or more).")
    return int(raw)


def _with_placeholder(name: str, args: list[int]) -> str:
    """The URL ``name`` with ``{id}`` in place of its last argument (a sample id)."""
    return reverse(name, args=[*args, 987654321]).replace("987654321", "{id}")
