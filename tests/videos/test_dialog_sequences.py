"""The selection dialog counts the candidates in whole sequences when the strategies set
``selected_sequence_length`` L > 1: frames, videos, at most how many sequences of L (each
video's candidate frames cut into chunks of L, the trailing rest and non-frames left out), and
what that means for n_samples; nothing of it for L = 1. Owner and team member see it; an
outsider gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import Sample, SelectionRun
from curation.presets.services import preset_create
from tests.support.selection import tag_named
from tests.support.sequences import frame_dataset

HX = {"HTTP_HX_REQUEST": "true"}
VIDEOS = {"clips/a.mp4": 10, "clips/b.mp4": 7, "c.mov": 9}  # 26 frames, plus 2 images


@pytest.fixture
def frames(dataset):
    frame_dataset(dataset, VIDEOS, images=2, seed=1)
    return dataset


def url(dataset, query: str = "") -> str:
    return reverse("selection-dialog", args=[dataset.pk]) + (f"?{query}" if query else "")


def refresh(length: str, n: str = "8", **extra: str) -> dict[str, str]:
    """The dialog's form after a field changed (htmx posts it with action "refresh")."""
    form = {
        "action": "refresh",
        "rows": "1",
        "count_mode": "n",
        "n_samples": n,
        "sequence_length": length,
        "s0-strategy": "DIVERSITY",
        "s0-input": "EMBEDDINGS",
        "s0-strength": "1.0",
        "result_tag_name": "picked",
        "mask_tag": "",
        "preselected_tag": "",
        "preset": "",
        "loaded_preset": "",
    }
    form.update(extra)
    return form


def sequences_line(html: str) -> str | None:
    start = html.find('<p class="candidates" id="candidate-sequences">')
    if start < 0:
        return None
    start = html.index(">", start) + 1
    return html[start : html.index("</p>", start)]


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_candidates_are_counted_in_sequences(client, request, frames, who):
    client.force_login(request.getfixturevalue(who))
    html = client.post(url(frames), refresh("4"), **HX).content.decode()
    assert '<strong id="candidate-count">28</strong> candidates' in html  # still samples
    assert sequences_line(html) == (
        "26 frames in 3 videos: at most 5 whole sequences of 4 frames, so n_samples is a "
        "multiple of 4 up to 20. Left out: 6 trailing frames that complete no sequence and 2 "
        "samples that are no video frame."
    )
    assert not SelectionRun.objects.exists()  # a refresh starts nothing


def test_the_count_follows_the_browser_filter_and_the_length(client, alice, frames):
    client.force_login(alice)
    html = client.post(url(frames, "video=clips/a.mp4"), refresh("3", n="9"), **HX)
    assert sequences_line(html.content.decode()) == (
        "10 frames in 1 video: at most 3 whole sequences of 3 frames, so n_samples is a "
        "multiple of 3 up to 9. Left out: 1 trailing frame that completes no sequence."
    )
    html = client.post(url(frames, "video=clips/a.mp4"), refresh("5", n="10"), **HX)
    assert sequences_line(html.content.decode()) == (
        "10 frames in 1 video: at most 2 whole sequences of 5 frames, so n_samples is a "
        "multiple of 5 up to 10."
    )


def test_a_count_beyond_the_sequences_says_so(client, alice, frames):
    client.force_login(alice)
    html = client.post(url(frames), refresh("4", n="40"), **HX).content.decode()
    line = sequences_line(html)
    assert line is not None and line.endswith(
        " n_samples = 40 asks for 10 sequences; at most 5 can be selected."
    )


def test_no_video_long_enough_or_no_frame_at_all_is_said(client, alice, frames):
    client.force_login(alice)
    html = client.post(url(frames), refresh("11", n="11"), **HX).content.decode()
    assert sequences_line(html) == (
        "26 frames in 3 videos, but no video has 11 candidate frames, so no sequence of 11 "
        "frames can be selected; widen the filter or choose a shorter sequence."
    )
    images = list(
        Sample.objects.filter(dataset=frames, video__isnull=True).values_list("pk", flat=True)
    )
    tag_named(frames, "stills", images)
    html = client.post(url(frames, "tag=stills"), refresh("2", n="2"), **HX).content.decode()
    assert sequences_line(html) == (
        "No candidate is a video frame, so no sequence of 2 frames can be selected; filter to "
        "videos or set the sequence length to 1."
    )


def test_single_samples_are_not_counted_in_sequences(client, alice, frames):
    client.force_login(alice)
    html = client.post(url(frames), refresh("1"), **HX).content.decode()
    assert '<strong id="candidate-count">28</strong> candidates' in html
    assert sequences_line(html) is None


def test_a_sequence_preset_shows_the_sequences_on_open(client, alice, bob, frames):
    preset = preset_create(
        owner=alice,
        name="clips of 4",
        visibility="team",
        config={
            "n_samples": 8,
            "selected_sequence_length": 4,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        },
    )
    client.force_login(bob)
    html = client.get(url(frames) + f"?preset={preset.pk}").content.decode()
    assert "<html" in html
    assert "Unknown filter parameter" not in html  # ?preset= is the dialog's, not a filter
    line = sequences_line(html)
    assert line is not None and line.startswith("26 frames in 3 videos: at most 5 whole sequences")


def test_an_outsider_gets_404(client, charlie, frames):
    client.force_login(charlie)
    assert client.post(url(frames), refresh("4"), **HX).status_code == 404
    assert client.get(url(frames)).status_code == 404
