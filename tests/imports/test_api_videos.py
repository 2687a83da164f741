"""Videos over the API (server import, upload session commit) and the web "new dataset" form:
the rate options at owner / team member / outsider level, bad input as one 400 sentence with
nothing written, and the job's summary listing the videos and the skipped files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from curation.jobs.execute import job_execute
from curation.models import Dataset, ImportRoot, Job, Sample, Video
from tests.support.uploads import media_files
from tests.support.videos import make_video


@pytest.fixture
def root(tmp_path, team) -> Path:
    """An import root of alice's team holding ``in/clip.mp4`` (20 frames at 10 fps) and a
    text file."""
    allowed = tmp_path / "allowed"
    make_video(allowed / "in" / "clip.mp4", frames=20, fps=10)
    (allowed / "in" / "notes.txt").write_text("x")
    ImportRoot.objects.create(path=str(allowed.resolve()), name="allowed", group=team)
    return allowed


def frame_indexes(dataset) -> list[int]:
    return sorted(
        Sample.objects.filter(dataset=dataset, video__isnull=False).values_list(
            "frame_index", flat=True
        )
    )


@pytest.mark.django_db
class TestServerImport:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_imports_the_videos_at_the_given_rate(self, api, dataset, root, who) -> None:
        body = {"images": str(root / "in"), "video_every": 4, "embed": "never"}
        response = api(who).post(f"/api/datasets/{dataset.pk}/import/", body, format="json")

        assert response.status_code == 202, response.json()
        job = job_execute(job_id=response.json()["job"])
        assert job is not None and job.status == Job.Status.SUCCEEDED, job.error
        assert frame_indexes(dataset) == [0, 4, 8, 12, 16]
        assert Video.objects.get(dataset=dataset).frame_step == 4
        summary = api(who).get(f"/api/jobs/{job.pk}/").json()["summary"]
        assert (summary["videos_added"], summary["video_frames"]) == (1, 5)
        assert summary["unsupported"] == ["notes.txt"]

    def test_the_default_is_one_frame_per_second(self, api, dataset, root) -> None:
        body = {"images": str(root / "in"), "embed": "never"}
        response = api("alice").post(f"/api/datasets/{dataset.pk}/import/", body, format="json")

        job_execute(job_id=response.json()["job"])
        assert frame_indexes(dataset) == [0, 10]

    @pytest.mark.parametrize(("who", "code"), [("charlie", 404), ("anonymous", 401)])
    def test_others_cannot_import(self, api, dataset, root, who, code) -> None:
        body = {"images": str(root / "in"), "video_fps": 2}
        response = api(who).post(f"/api/datasets/{dataset.pk}/import/", body, format="json")

        assert response.status_code == code
        assert not Job.objects.exists() and not Video.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({"video_every": 2, "video_fps": 1}, "video_fps", "not both"),
            ({"video_every": 0}, "video_every", "greater than or equal to 1"),
            ({"video_fps": 0}, "video_fps", "greater than or equal to 0.001"),
            ({"video_fps": "fast"}, "video_fps", "number"),
        ],
    )
    def test_a_bad_rate_is_400_and_writes_nothing(
        self, api, dataset, root, body, field, message
    ) -> None:
        body = {"images": str(root / "in"), **body}
        response = api("alice").post(f"/api/datasets/{dataset.pk}/import/", body, format="json")

        assert response.status_code == 400
        assert message in json.dumps(response.json())
        assert field in json.dumps(response.json())
        assert not Job.objects.exists() and not Sample.objects.exists()

    def test_a_truncated_video_fails_the_job_naming_it(self, api, dataset, root) -> None:
        bad = make_video(root / "in" / "bad.mkv", frames=30, fps=10)
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
        body = {"images": str(root / "in"), "embed": "never"}
        response = api("bob").post(f"/api/datasets/{dataset.pk}/import/", body, format="json")

        job = job_execute(job_id=response.json()["job"])

        assert job is not None and job.status == Job.Status.FAILED
        assert job.error.startswith("Video bad.mkv could not be decoded: ")
        assert str(root) not in job.error
        assert not Sample.objects.exists() and not Video.objects.exists()
        assert media_files() == []


@pytest.mark.django_db
class TestUploadCommit:
    KEY = "v" * 16

    def url(self, dataset, tail: str = "") -> str:
        return f"/api/datasets/{dataset.pk}/uploads/{tail}"

    def send(self, client, dataset, tmp_path) -> None:
        video = make_video(tmp_path / "up" / "clip.webm", frames=10, fps=5, codec="libvpx")
        client.post(self.url(dataset), {"key": self.KEY}, format="json")
        with open(video, "rb") as handle:
            batch = {"file": [handle], "names": json.dumps(["videos/clip.webm"])}
            response = client.post(
                self.url(dataset, f"{self.KEY}/files/"), batch, format="multipart"
            )
        assert response.json() == {"held": 1}

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_uploaded_videos_are_imported_at_the_given_rate(
        self, api, dataset, tmp_path, who
    ) -> None:
        client = api(who)
        self.send(client, dataset, tmp_path)
        response = client.post(
            self.url(dataset, f"{self.KEY}/commit/"),
            {"embed": "never", "video_fps": 2.5},
            format="json",
        )

        assert response.status_code == 202
        job_execute(job_id=response.json()["job"])
        assert Job.objects.get().status == Job.Status.SUCCEEDED
        assert frame_indexes(dataset) == [0, 2, 4, 6, 8]
        assert Video.objects.get(dataset=dataset).name == "videos/clip.webm"

    def test_both_rates_are_refused_before_anything_moves(self, api, dataset, tmp_path) -> None:
        client = api("alice")
        self.send(client, dataset, tmp_path)
        response = client.post(
            self.url(dataset, f"{self.KEY}/commit/"),
            {"video_every": 2, "video_fps": 1},
            format="json",
        )

        assert response.status_code == 400
        assert "not both" in json.dumps(response.json())
        assert not Job.objects.exists() and not Sample.objects.exists()


@pytest.mark.django_db(transaction=True)
class TestNewDatasetForm:
    def video_upload(self, tmp_path, name: str = "clip.mp4") -> SimpleUploadedFile:
        path = make_video(tmp_path / name, frames=20, fps=10)
        return SimpleUploadedFile(name, path.read_bytes(), content_type="video/mp4")

    @pytest.mark.parametrize("who", ["alice", "charlie"])
    def test_any_user_creates_a_dataset_from_uploaded_videos(
        self, web_import, tmp_path, request, who
    ) -> None:
        user = request.getfixturevalue(who)
        response, job = web_import(user, "clips", [self.video_upload(tmp_path)], video_every=5)

        assert response.status_code == 302, response.content.decode()[:500]
        job_execute(job_id=job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
        dataset = Dataset.objects.get(name="clips")
        assert dataset.owner == user
        assert frame_indexes(dataset) == [0, 5, 10, 15]
        assert "Videos: 1 added (4 frames), 0 skipped (already there)." in job.message

    def test_both_rates_are_a_form_error_and_nothing_is_written(
        self, web_import, alice, tmp_path
    ) -> None:
        response, job = web_import(
            alice, "clips", [self.video_upload(tmp_path)], video_every=5, video_fps=2
        )

        assert response.status_code == 400
        assert "Give either every k-th frame or frames per second." in response.content.decode()
        assert job is None and not Dataset.objects.filter(name="clips").exists()
        assert media_files() == []

    def test_anonymous_is_sent_to_log_in(self, client, tmp_path) -> None:
        response = client.post(
            "/datasets/new/", {"name": "clips", "images": [self.video_upload(tmp_path)]}
        )

        assert response.status_code == 302 and "/login" in response["Location"]
        assert not Dataset.objects.exists()
