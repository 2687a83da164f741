"""``/api/datasets/{id}/videos/`` and ``/api/datasets/{id}/videos/{video_id}/``; the sample
API's ``video`` and ``frame_index``."""

from __future__ import annotations

import pytest

from tests.support.video_rows import video_with_frames

FIELDS = {
    "id", "name", "fps", "duration_s", "frame_count", "width", "height", "size_bytes", "codec",
    "frame_step", "created", "frames",
}  # fmt: skip


def list_path(dataset):
    return f"/api/datasets/{dataset.pk}/videos/"


def detail_path(dataset, video):
    return f"/api/datasets/{dataset.pk}/videos/{video.pk}/"


class TestVideoList:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_lists_the_videos_in_id_order(self, api, dataset, clips, who):
        response = api(who).get(list_path(dataset))
        assert response.status_code == 200
        results = response.json()["results"]
        assert [v["name"] for v in results] == ["drive.mp4", "park.mp4"]
        assert set(results[0]) == FIELDS
        park = results[1]
        assert (park["fps"], park["duration_s"], park["frame_count"], park["frame_step"]) == (
            30.0, 0.5, 15, 3,
        )  # fmt: skip
        assert (park["width"], park["height"], park["size_bytes"], park["codec"]) == (
            32, 24, 12_345, "h264",
        )  # fmt: skip
        assert park["frames"] == (
            f"http://testserver/api/datasets/{dataset.pk}/samples/?video=park.mp4"
        )

    def test_it_is_cursor_paginated(self, api, dataset, clips):
        client = api("alice")
        first = client.get(list_path(dataset), {"page_size": 1}).json()
        assert [v["name"] for v in first["results"]] == ["drive.mp4"] and first["next"]
        second = client.get(first["next"]).json()
        assert [v["name"] for v in second["results"]] == ["park.mp4"] and not second["next"]
        bad = client.get(list_path(dataset), {"page_size": 0})
        assert bad.status_code == 400

    @pytest.mark.parametrize(("who", "code"), [("charlie", 404), ("anonymous", 401)])
    def test_it_refuses_others(self, api, dataset, clips, who, code):
        response = api(who).get(list_path(dataset))
        assert response.status_code == code and "results" not in response.json()


class TestVideoDetail:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_shows_one_video_and_its_frames_link(self, api, dataset, clips, who):
        client = api(who)
        response = client.get(detail_path(dataset, clips["drive"]))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == FIELDS and body["id"] == clips["drive"].pk
        assert body["name"] == "drive.mp4" and body["frame_count"] == 12
        frames = client.get(body["frames"]).json()["results"]
        assert [f["id"] for f in frames] == [s.pk for s in clips["drive_frames"]]
        assert {f["video"] for f in frames} == {"drive.mp4"}
        assert [f["frame_index"] for f in frames] == list(range(12))

    @pytest.mark.parametrize(("who", "code"), [("charlie", 404), ("anonymous", 401)])
    def test_it_refuses_others(self, api, dataset, clips, who, code):
        response = api(who).get(detail_path(dataset, clips["drive"]))
        assert response.status_code == code and "name" not in response.json()

    def test_a_video_of_another_dataset_is_404(self, api, dataset, clips, private_dataset):
        other, _ = video_with_frames(private_dataset, "elsewhere.mp4", frames=1, files=False)
        assert api("alice").get(detail_path(dataset, other)).status_code == 404
        assert api("alice").get(detail_path(private_dataset, other)).status_code == 200


def test_samples_carry_their_video_and_frame_index(api, dataset, clips):
    client = api("alice")
    rows = client.get(f"/api/datasets/{dataset.pk}/samples/", {"page_size": 500}).json()
    by_id = {r["id"]: (r["video"], r["frame_index"]) for r in rows["results"]}
    assert by_id[clips["images"][0].pk] == (None, None)
    assert by_id[clips["park_frames"][2].pk] == ("park.mp4", 6)
    one = client.get(f"/api/datasets/{dataset.pk}/samples/{clips['drive_frames'][3].pk}/").json()
    assert (one["video"], one["frame_index"]) == ("drive.mp4", 3)


def test_the_sample_list_reads_video_names_in_one_join(
    api, dataset, clips, django_assert_max_num_queries
):
    client = api("alice")
    client.get(f"/api/datasets/{dataset.pk}/samples/")  # warm the token lookup path
    with django_assert_max_num_queries(8) as captured:
        response = client.get(f"/api/datasets/{dataset.pk}/samples/", {"page_size": 500})
    assert len(response.json()["results"]) == 19
    assert not [q for q in captured.captured_queries if 'FROM "curation_video"' in q["sql"]]


def test_the_schema_documents_the_video_endpoints_and_fields(client, db):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/datasets/{dataset_id}/videos/" in schema["paths"]
    assert "/api/datasets/{dataset_id}/videos/{video_id}/" in schema["paths"]
    video = schema["components"]["schemas"]["Video"]["properties"]
    assert {"name", "fps", "duration_s", "frame_count", "frames"} <= set(video)
    sample = schema["components"]["schemas"]["SampleListItem"]["properties"]
    assert sample["video"]["nullable"] is True and sample["frame_index"]["nullable"] is True
    params = {p["name"] for p in schema["paths"]["/api/datasets/{dataset_id}/samples/"]["get"][
        "parameters"]}  # fmt: skip
    assert {"video", "frames"} <= params
