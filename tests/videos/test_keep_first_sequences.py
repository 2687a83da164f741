"""Keep only the first k of a sequence run (``selected_sequence_length`` L): the run page's
form and ``POST /api/runs/{id}/keep-first/`` keep whole sequences in pick order; a k that is no
multiple of L is refused with one sentence naming L and the nearest valid values, and nothing
is written; owner and team member may, an outsider gets 404."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from curation.models import Sample, SelectionRun, Tag
from curation.runs.keep_first import keep_first_problem
from curation.runs.services import selection_run_start
from tests.support.sequences import frame_dataset

VIDEOS = {"clips/a.mp4": 10, "clips/b.mp4": 7, "c.mov": 9}
L = 3
WHOLE = "a multiple of 3 (this run picked whole sequences of 3 frames)"
CONFIG = {
    "n_samples": 9,
    "selected_sequence_length": L,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


@pytest.fixture
def run(dataset, alice) -> SelectionRun:
    frame_dataset(dataset, VIDEOS, images=2, seed=3)
    run = selection_run_start(
        dataset=dataset, config=CONFIG, result_tag_name="seq", user=alice, execute="inline"
    )
    assert run.status == SelectionRun.Status.SUCCEEDED, run.error
    assert len(run.pick_order) == 9
    return run


def assert_whole_sequences(tag: Tag, run: SelectionRun, k: int) -> None:
    """The tag holds exactly the first k / L picked sequences: chunks of L frames of one video,
    consecutive among that video's candidate frames."""
    members = set(tag.memberships.values_list("sample_id", flat=True))
    assert members == set(run.pick_order[:k])
    by_id = {s.pk: s for s in Sample.objects.filter(pk__in=members)}
    for a in range(0, k, L):
        chunk = [by_id[pk] for pk in run.pick_order[a : a + L]]
        assert len({s.video_id for s in chunk}) == 1
        indexes = [s.frame_index for s in chunk]
        assert indexes[0] % L == 0 and indexes == list(range(indexes[0], indexes[0] + L))
    # No picked sequence is split: every sequence is either wholly in the tag or wholly out.
    for a in range(0, len(run.pick_order), L):
        inside = {pk in members for pk in run.pick_order[a : a + L]}
        assert len(inside) == 1


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


class TestTheRule:
    @pytest.mark.parametrize(
        ("k", "expected"),
        [
            (6, None),
            (9, None),
            (5, f"{WHOLE}; the nearest are 3 and 6"),
            (8, f"{WHOLE}; the nearest are 6 and 9"),
            (2, "a multiple of 3 from 3 to 9 (this run picked whole sequences of 3 frames)"),
            (10, "at most 9, the run's pick count"),
        ],
    )  # fmt: skip
    def test_it_names_the_nearest_whole_sequences(self, k, expected) -> None:
        assert keep_first_problem(k=k, picks=9, length=L) == expected

    def test_only_values_up_to_the_pick_count_are_offered(self) -> None:
        assert keep_first_problem(k=7, picks=7, length=L) == f"{WHOLE}; the nearest is 6"

    def test_a_run_of_single_samples_keeps_any_count(self) -> None:
        assert keep_first_problem(k=5, picks=9, length=1) is None
        assert keep_first_problem(k=10, picks=9, length=1) == "at most 9, the run's pick count"


@pytest.mark.django_db
class TestKeepFirstPage:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_keeps_whole_sequences(self, client, request, run, who) -> None:
        client.force_login(request.getfixturevalue(who))
        response = client.post(reverse("run-keep-first", args=[run.pk]), {"k": "6"})
        assert response.status_code == 302
        tag = Tag.objects.get(name="seq-first-6")
        assert tag.kind == Tag.Kind.SELECTION
        assert_whole_sequences(tag, run, 6)
        assert messages_of(response) == [
            "Created the tag 'seq-first-6' with the first 6 picks (2 whole sequences of 3 frames)."
        ]

    @pytest.mark.parametrize(
        ("k", "sentence"),
        [
            ("5", "Choose how many to keep: a multiple of 3 (this run picked whole sequences of "
             "3 frames); the nearest are 3 and 6."),
            ("2", "Choose how many to keep: a multiple of 3 from 3 to 9 (this run picked whole "
             "sequences of 3 frames)."),
            ("x", "Choose how many to keep: a multiple of 3 from 3 to 9 (this run picked whole "
             "sequences of 3 frames)."),
        ],
    )  # fmt: skip
    def test_a_k_splitting_a_sequence_is_one_sentence(self, client, bob, run, k, sentence) -> None:
        client.force_login(bob)
        response = client.post(reverse("run-keep-first", args=[run.pk]), {"k": k})
        assert response.status_code == 302 and response["Location"].endswith("#keep-first")
        assert messages_of(response) == [sentence]
        assert not Tag.objects.filter(name__startswith="seq-first").exists()

    def test_an_outsider_gets_404(self, client, charlie, run) -> None:
        client.force_login(charlie)
        response = client.post(reverse("run-keep-first", args=[run.pk]), {"k": "6"})
        assert response.status_code == 404
        assert not Tag.objects.filter(name__startswith="seq-first").exists()

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_form_asks_for_whole_sequences(self, client, request, run, who) -> None:
        client.force_login(request.getfixturevalue(who))
        html = client.get(reverse("run-results", args=[run.pk])).content.decode()
        assert 'min="3" max="9" step="3"' in html
        assert 'value="3"' in html  # half of 9 picks, rounded down to whole sequences
        assert (
            "This run picked whole sequences of 3 frames: keep a multiple of 3 to keep whole "
            "sequences." in html
        )

    def test_an_outsider_sees_no_form(self, client, charlie, run) -> None:
        client.force_login(charlie)
        assert client.get(reverse("run-results", args=[run.pk])).status_code == 404


@pytest.mark.django_db
class TestKeepFirstAPI:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_keeps_whole_sequences(self, api, run, who) -> None:
        response = api(who).post(
            f"/api/runs/{run.pk}/keep-first/", {"k": 3, "tag_name": "one"}, format="json"
        )
        assert response.status_code == 201 and response.json()["name"] == "one"
        tag = Tag.objects.get(name="one")
        assert_whole_sequences(tag, run, 3)
        assert tag.description == (
            f"The first 3 picks (1 whole sequence of 3 frames) of selection run {run.pk}"
        )

    def test_a_k_splitting_a_sequence_is_a_400_sentence(self, api, run) -> None:
        response = api("bob").post(f"/api/runs/{run.pk}/keep-first/", {"k": 7}, format="json")
        assert response.status_code == 400
        assert response.json()["detail"] == (
            "k: must be a multiple of 3 (this run picked whole sequences of 3 frames); the "
            "nearest are 6 and 9."
        )
        assert not Tag.objects.filter(name__startswith="seq-first").exists()

    @pytest.mark.parametrize(("who", "code"), [("charlie", 404), ("anonymous", 401)])
    def test_it_is_refused_without_access(self, api, run, who, code) -> None:
        response = api(who).post(f"/api/runs/{run.pk}/keep-first/", {"k": 3}, format="json")
        assert response.status_code == code
        assert not Tag.objects.filter(name__startswith="seq-first").exists()
