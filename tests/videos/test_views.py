"""The video pages: the list (``/datasets/<id>/videos/``) and one video's frame viewer with its
tag timeline (``/datasets/<id>/videos/<video_id>/``), at every access level."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from curation.models import Tag, TagSample
from tests.support.video_rows import video_with_frames


def list_url(dataset):
    return reverse("video-list", args=[dataset.pk])


def detail_url(dataset, video, query=""):
    base = reverse("video-detail", args=[dataset.pk, video.pk])
    return f"{base}?{query}" if query else base


def tag(dataset, name, samples, kind=Tag.Kind.USER):
    created = Tag.objects.create(dataset=dataset, name=name, kind=kind)
    TagSample.objects.bulk_create([TagSample(tag=created, sample=s) for s in samples])
    return created


def frames_data(text):
    match = re.search(r'<script id="video-frames" type="application/json">(.*?)</script>', text)
    assert match, "the page carries its frames as a JSON data block"
    return json.loads(match.group(1))


class TestVideoList:
    def test_it_lists_the_videos_with_their_facts(self, client, alice, dataset, clips):
        client.force_login(alice)
        response = client.get(list_url(dataset))
        text = response.content.decode()
        assert response.status_code == 200
        rows = re.findall(r'<tr data-video="(\d+)">', text)
        assert rows == [str(clips["drive"].pk), str(clips["park"].pk)]  # by name
        assert "<strong>drive.mp4</strong>" in text and "<strong>park.mp4</strong>" in text
        assert "1.2 s" in text and "0.5 s" in text  # durations
        assert "(5 kept, every 3)" in text  # park: 15 decoded frames, every 3rd stored
        assert "12.1\xa0KB" in text  # size
        first = clips["drive_frames"][0].pk
        assert reverse("sample-thumbnail", args=[first]) in text  # the first frame as cover
        assert f"{reverse('dataset-browser', args=[dataset.pk])}?video=drive.mp4" in text
        assert detail_url(dataset, clips["park"]) in text

    def test_a_team_member_sees_it(self, client, bob, dataset, clips):
        client.force_login(bob)
        response = client.get(list_url(dataset))
        assert response.status_code == 200 and "drive.mp4" in response.content.decode()

    def test_an_outsider_gets_404(self, client, charlie, dataset, clips):
        client.force_login(charlie)
        assert client.get(list_url(dataset)).status_code == 404

    def test_it_requires_login(self, client, dataset, clips):
        response = client.get(list_url(dataset))
        assert response.status_code == 302 and "/login" in response["Location"]

    def test_a_dataset_without_videos_says_so(self, client, alice, dataset):
        client.force_login(alice)
        text = client.get(list_url(dataset)).content.decode()
        assert "This dataset has no videos." in text and "<table" not in text

    def test_the_videos_tab_shows_only_when_the_dataset_has_videos(self, client, alice, dataset):
        client.force_login(alice)
        browser = reverse("dataset-browser", args=[dataset.pk])
        assert 'id="videos-link"' not in client.get(browser).content.decode()
        video_with_frames(dataset, "late.mp4", frames=1)
        text = client.get(browser).content.decode()
        assert f'<a href="{list_url(dataset)}" id="videos-link"' in text


class TestVideoDetail:
    def test_it_shows_the_asked_frame_with_a_scrubber(self, client, alice, dataset, clips):
        client.force_login(alice)
        frames = clips["drive_frames"]
        response = client.get(detail_url(dataset, clips["drive"], "frame=4"))
        text = response.content.decode()
        assert response.status_code == 200
        assert f'<img id="frame-image" src="{reverse("sample-image", args=[frames[4].pk])}"' in text
        assert 'type="range" id="scrubber" min="0" max="11" step="1" value="4"' in text
        assert 'Frame <strong id="frame-index">4</strong>' in text
        assert '<span id="frame-time">0.400</span> s' in text
        sample_page = reverse("sample-detail", args=[dataset.pk, frames[4].pk])
        assert f'href="{sample_page}?video=drive.mp4"' in text
        assert f'href="{reverse("dataset-browser", args=[dataset.pk])}?video=drive.mp4"' in text
        data = frames_data(text)
        assert data["ids"] == [f.pk for f in frames]
        assert data["indexes"] == list(range(12))
        assert data["times"][:3] == [0.0, 0.1, 0.2]
        assert '<script src="/static/curation/video-page.js" defer></script>' in text
        assert "<script>" not in text and " style=" not in text  # CSP: nothing inline

    def test_it_defaults_to_the_first_frame(self, client, alice, dataset, clips):
        client.force_login(alice)
        text = client.get(detail_url(dataset, clips["drive"])).content.decode()
        assert 'value="0"' in text and 'Frame <strong id="frame-index">0</strong>' in text

    def test_a_frame_between_stored_frames_shows_the_one_before(
        self, client, alice, dataset, clips
    ):
        client.force_login(alice)  # park.mp4 stores frames 0, 3, 6, 9, 12
        text = client.get(detail_url(dataset, clips["park"], "frame=8")).content.decode()
        assert 'Frame <strong id="frame-index">6</strong>' in text and 'value="2"' in text
        text = client.get(detail_url(dataset, clips["park"], "frame=999")).content.decode()
        assert 'Frame <strong id="frame-index">12</strong>' in text

    @pytest.mark.parametrize("raw", ["abc", "-1", "1.5", "9" * 20])
    def test_a_bad_frame_number_is_one_sentence(self, client, alice, dataset, clips, raw):
        client.force_login(alice)
        response = client.get(detail_url(dataset, clips["drive"], f"frame={raw}"))
        assert response.status_code == 400
        assert "must be a frame number (a whole number, 0 or more)." in response.content.decode()

    def test_a_team_member_sees_it(self, client, bob, dataset, clips):
        client.force_login(bob)
        response = client.get(detail_url(dataset, clips["park"]))
        assert response.status_code == 200 and 'id="video-viewer"' in response.content.decode()

    def test_an_outsider_gets_404(self, client, charlie, dataset, clips):
        client.force_login(charlie)
        assert client.get(detail_url(dataset, clips["drive"])).status_code == 404

    def test_a_video_of_another_dataset_is_404(self, client, alice, dataset, private_dataset):
        other, _ = video_with_frames(private_dataset, "elsewhere.mp4", frames=2)
        client.force_login(alice)  # alice owns both datasets: the video is not in this one
        assert client.get(detail_url(dataset, other)).status_code == 404
        assert client.get(detail_url(private_dataset, other)).status_code == 200

    def test_a_video_without_stored_frames_says_so(self, client, alice, dataset):
        empty, _ = video_with_frames(dataset, "empty.mp4", frames=0)
        client.force_login(alice)
        text = client.get(detail_url(dataset, empty)).content.decode()
        assert "This video has no stored frames." in text and 'id="scrubber"' not in text


class TestTimeline:
    def test_each_tag_is_a_row_of_marks_for_runs_of_frames(self, client, alice, dataset, clips):
        frames = clips["drive_frames"]
        tag(dataset, "keep", [frames[2], frames[3], frames[4], frames[8]])
        tag(dataset, "picked", [frames[5]], kind=Tag.Kind.SELECTION)
        tag(dataset, "photos", clips["images"])  # no frame of this video: no row
        tag(dataset, "park-only", clips["park_frames"][:1])  # another video's frame: no row
        client.force_login(alice)
        text = client.get(detail_url(dataset, clips["drive"])).content.decode()
        rows = re.findall(r'<tr class="timeline-row( pick-row)?" data-tag="([^"]+)">', text)
        assert rows == [(" pick-row", "picked"), ("", "keep")]  # picks first
        keep = text[text.index('data-tag="keep"') :]
        keep = keep[: keep.index("</tr>")]
        marks = re.findall(
            r'<a class="timeline-mark" href="\?frame=(\d+)" data-position="(\d+)" '
            r'aria-label="([^"]+)"><rect x="(\d+)" y="0" width="(\d+)"',
            keep,
        )
        assert marks == [
            ("2", "2", "Frames 2 to 4 in keep", "2", "3"),
            ("8", "8", "Frame 8 in keep", "8", "1"),
        ]
        assert "4 frames" in keep
        picked = text[text.index('data-tag="picked"') :]
        picked = picked[: picked.index("</tr>")]
        assert '<span class="pick-badge"' in picked and ">picks</span>" in picked
        assert 'aria-label="Frame 5 in picked"' in picked
        assert 'viewBox="0 0 12 10"' in text  # frame 0 .. 11

    def test_marks_of_a_sparse_video_span_the_frames_between(self, client, alice, dataset, clips):
        park = clips["park_frames"]  # frames 0, 3, 6, 9, 12 (every 3rd)
        tag(dataset, "busy", [park[1], park[2], park[4]])
        client.force_login(alice)
        text = client.get(detail_url(dataset, clips["park"])).content.decode()
        assert 'href="?frame=3" data-position="1"' in text
        assert '<rect x="3" y="0" width="6"' in text  # frames 3 and 6 touch: 3 .. 8
        assert '<rect x="12" y="0" width="3"' in text
        assert 'viewBox="0 0 15 10"' in text

    def test_no_tags_no_rows(self, client, alice, dataset, clips):
        client.force_login(alice)
        text = client.get(detail_url(dataset, clips["drive"])).content.decode()
        assert "None of this video's frames is in a tag yet." in text
        assert "timeline-row" not in text
