"""The browser's filmstrips: a result page's frames grouped by video, images in the grid."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from curation.models import Sample, Video
from curation.videos.filmstrips import page_filmstrips
from tests.support.video_rows import video_with_frames


def url(dataset, query=""):
    base = reverse("dataset-browser", args=[dataset.pk])
    return f"{base}?{query}" if query else base


def strips(text):
    """[(video name, [sample ids in the strip])] in page order."""
    found = []
    for section in re.findall(r'<section class="filmstrip".*?</section>', text, re.S):
        name = re.search(r'<span id="filmstrip-\d+-\d+-name">([^<]+)</span>', section).group(1)
        found.append((name, [int(i) for i in re.findall(r'name="sample" value="(\d+)"', section)]))
    return found


def grid_cells(text):
    """Sample ids of the cells outside every filmstrip."""
    outside = re.sub(r'<section class="filmstrip".*?</section>', "", text, flags=re.S)
    return [int(i) for i in re.findall(r'class="pick" name="sample" value="(\d+)"', outside)]


def test_frames_are_grouped_into_one_strip_per_video(client, alice, dataset, clips):
    client.force_login(alice)
    text = client.get(url(dataset)).content.decode()
    assert strips(text) == [
        ("drive.mp4", [s.pk for s in clips["drive_frames"]]),
        ("park.mp4", [s.pk for s in clips["park_frames"]]),
    ]
    assert grid_cells(text) == [s.pk for s in clips["images"]]
    assert "<strong>19</strong> samples" in text  # 12 + 5 frames + 2 images
    drive = clips["drive"]
    head = text[text.index(f'data-video="{drive.pk}"') :]
    head = head[: head.index('<div class="filmstrip-frames"')]
    assert (
        f'<button type="button" class="filmstrip-toggle" aria-expanded="true" '
        f'aria-controls="filmstrip-{drive.pk}-0" data-video="{drive.pk}">' in head
    )
    assert "12 frames · 1.2 s · here frames 0\u201311 (12)" in head
    assert f'href="{reverse("video-detail", args=[dataset.pk, drive.pk])}?frame=0"' in head
    assert f'href="{url(dataset, "video=drive.mp4")}"' in head
    assert (
        f'<div class="filmstrip-frames" id="filmstrip-{drive.pk}-0" role="group" '
        'aria-label="Frames of drive.mp4">' in text
    )
    assert '<span class="name">frame 3</span>' in text  # a frame is labelled by its index
    assert '<span class="name">photo_0.png</span>' in text


def test_a_strip_is_in_frame_order_whatever_the_ids(client, alice, dataset, clips):
    video = Video.objects.create(
        dataset=dataset, name="rev.mp4", fps=1, duration_s=3, frame_count=3, width=8, height=8,
        size_bytes=1,
    )  # fmt: skip
    created = [
        Sample.objects.create(dataset=dataset, file_name=f"rev/{i}", video=video, frame_index=i)
        for i in (2, 0, 1)  # inserted last frame first
    ]
    client.force_login(alice)
    text = client.get(url(dataset, "video=rev.mp4")).content.decode()
    assert strips(text) == [("rev.mp4", [created[1].pk, created[2].pk, created[0].pk])]
    assert grid_cells(text) == []


def test_the_filter_applies_inside_the_strips(client, alice, dataset, clips):
    client.force_login(alice)
    text = client.get(url(dataset, "video=drive.mp4&frames=3-5")).content.decode()
    assert strips(text) == [("drive.mp4", [s.pk for s in clips["drive_frames"][3:6]])]
    assert "here frames 3\u20135 (3)" in text and grid_cells(text) == []


def test_only_the_current_page_is_grouped(client, alice, dataset, clips, settings):
    settings.CURATION_BROWSE_PAGE_SIZE = 5
    client.force_login(alice)
    drive = clips["drive_frames"]
    first = client.get(url(dataset)).content.decode()
    assert strips(first) == [("drive.mp4", [s.pk for s in drive[:5]])]
    after = drive[4].pk
    more = client.get(
        url(dataset, f"after={after}"), headers={"HX-Request": "true", "HX-Target": "more"}
    ).content.decode()
    assert "<html" not in more and strips(more) == [("drive.mp4", [s.pk for s in drive[5:10]])]
    # The appended page's strip has its own element ids.
    assert f'id="filmstrip-{clips["drive"].pk}-{after}"' in more


def test_grouping_costs_one_query_whatever_the_number_of_videos(client, alice, dataset, clips):
    client.force_login(alice)
    client.get(url(dataset))  # fills the sidebar's short-lived caches
    with CaptureQueriesContext(connection) as two:
        client.get(url(dataset))
    for i in range(4):
        video_with_frames(dataset, f"more_{i}.mp4", frames=2, files=False)
    client.get(url(dataset))
    with CaptureQueriesContext(connection) as six:
        text = client.get(url(dataset)).content.decode()
    assert len(strips(text)) == 6
    assert len(six.captured_queries) == len(two.captured_queries)


def test_a_dataset_without_videos_keeps_the_plain_grid(client, alice, dataset, samples):
    client.force_login(alice)
    text = client.get(url(dataset)).content.decode()
    assert "filmstrip-toggle" not in text and len(grid_cells(text)) == 12


def test_a_ranked_page_is_not_grouped(dataset, clips):
    page = [*clips["images"][:1], *clips["drive_frames"][:2], *clips["park_frames"][:1]]
    grouped, images = page_filmstrips(page, ranked=False)
    assert [(s.video.name, [f.pk for f in s.frames]) for s in grouped] == [
        ("drive.mp4", [f.pk for f in clips["drive_frames"][:2]]),
        ("park.mp4", [clips["park_frames"][0].pk]),
    ]
    assert images == clips["images"][:1]
    assert page_filmstrips(page, ranked=True) == ([], page)  # rank order is kept


def test_a_team_member_sees_the_strips_and_an_outsider_gets_404(
    client, bob, charlie, dataset, clips
):
    client.force_login(bob)
    assert len(strips(client.get(url(dataset)).content.decode())) == 2
    client.force_login(charlie)
    assert client.get(url(dataset)).status_code == 404


def test_the_sidebar_offers_the_videos_and_keeps_the_chosen_range(client, alice, dataset, clips):
    client.force_login(alice)
    text = client.get(url(dataset, "video=park.mp4&frames=3-")).content.decode()
    form = text[
        text.index('id="filter-form"') : text.index("</form>", text.index('id="filter-form"'))
    ]
    assert '<input type="checkbox" name="video" value="drive.mp4" >' in form
    assert '<input type="checkbox" name="video" value="park.mp4" checked>' in form
    assert 'name="frames" value="3-"' in form
    assert strips(text) == [("park.mp4", [s.pk for s in clips["park_frames"][1:]])]


def test_a_chosen_video_past_the_sidebar_list_stays_in_the_form(client, alice, dataset):
    for i in range(51):
        video_with_frames(dataset, f"v{i:02d}.mp4", frames=0, files=False)
    client.force_login(alice)
    text = client.get(url(dataset, "video=v50.mp4")).content.decode()
    assert (
        'value="v49.mp4"' in text and '<input type="hidden" name="video" value="v50.mp4">' in text
    )
    assert "The first 50 videos by name" in text


def test_the_sidebar_has_no_video_filter_without_videos(client, alice, dataset, samples):
    client.force_login(alice)
    assert 'id="video-filter"' not in client.get(url(dataset)).content.decode()
