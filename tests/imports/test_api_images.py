"""Image upload sessions and the in-place check over the API, at every access level."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from curation.imports.upload_sessions import sessions_root
from curation.jobs.execute import job_execute
from curation.models import EmbeddingSpace, ImportRoot, Job, Sample

KEY = "k" * 16


def png(color: int = 10) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (20, 10), (color, 0, 0)).save(data, "PNG")
    data.seek(0)
    data.name = "x.png"
    return data


def url(dataset, tail: str = "") -> str:
    return f"/api/datasets/{dataset.pk}/uploads/{tail}"


@pytest.mark.django_db
class TestUploadSession:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_uploads_resumes_and_commits(self, api, dataset, who) -> None:
        client = api(who)
        assert client.post(url(dataset), {"key": KEY}, format="json").json() == {
            "key": KEY,
            "files": {},
        }
        batch = {"file": [png(1), png(2)], "names": json.dumps(["a.png", "sub/b.png"])}
        assert client.post(url(dataset, f"{KEY}/files/"), batch, format="multipart").json() == {
            "held": 2
        }
        held = client.post(url(dataset), {"key": KEY}, format="json").json()["files"]
        assert set(held) == {"a.png", "sub/b.png"}  # a second open resumes
        response = client.post(url(dataset, f"{KEY}/commit/"), {"embed": "never"}, format="json")
        assert response.status_code == 202
        job_execute(job_id=response.json()["job"])
        assert Job.objects.get().status == Job.Status.SUCCEEDED
        names = sorted(Sample.objects.filter(dataset=dataset).values_list("file_name", flat=True))
        assert names == ["a.png", "sub/b.png"]
        assert not (sessions_root(dataset) / KEY).exists()

    @pytest.mark.parametrize("who", ["charlie", "anonymous"])
    def test_it_is_refused_without_access(self, api, dataset, who) -> None:
        response = api(who).post(url(dataset), {"key": KEY}, format="json")
        assert response.status_code == (404 if who == "charlie" else 401)
        assert not sessions_root(dataset).exists()

    def test_bad_input_is_one_sentence_and_writes_nothing(self, api, dataset) -> None:
        client = api("alice")
        response = client.post(url(dataset), {"key": "../x"}, format="json")
        assert response.status_code == 400
        assert response.json()["detail"].startswith("An upload session key is 8 to 64")
        client.post(url(dataset), {"key": KEY}, format="json")
        batch = {"file": [png()], "names": json.dumps(["../evil.png"])}
        response = client.post(url(dataset, f"{KEY}/files/"), batch, format="multipart")
        assert response.status_code == 400 and "'..' segment" in response.json()["detail"]
        batch = {"file": [png()], "names": "not json"}
        response = client.post(url(dataset, f"{KEY}/files/"), batch, format="multipart")
        assert response.json()["detail"] == (
            "names: Send the relative names as a JSON list of strings."
        )
        response = client.post(url(dataset, f"{KEY}/commit/"), {}, format="json")
        assert response.status_code == 400
        assert "holds no files" in response.json()["detail"]
        assert not Job.objects.exists() and not Sample.objects.exists()
        assert list((sessions_root(dataset) / KEY).iterdir()) == []

    def test_a_second_import_waits_for_the_first(self, api, dataset) -> None:
        client = api("alice")
        client.post(url(dataset), {"key": KEY}, format="json")
        batch = {"file": [png()], "names": json.dumps(["a.png"])}
        client.post(url(dataset, f"{KEY}/files/"), batch, format="multipart")
        Job.objects.create(dataset=dataset, dataset_name=dataset.name)  # queued
        response = client.post(url(dataset, f"{KEY}/commit/"), {}, format="json")
        assert response.status_code == 409
        assert "wait for it to finish" in response.json()["detail"]


@pytest.mark.django_db
class TestImportCheck:
    def test_it_says_whether_a_folder_is_importable_in_place(self, api, dataset, team, tmp_path):
        inside = tmp_path / "root" / "images"
        inside.mkdir(parents=True)
        ImportRoot.objects.create(path=str(tmp_path / "root"), name="root", group=team)
        check = f"/api/datasets/{dataset.pk}/import/check/"
        for who in ("alice", "bob"):
            assert api(who).post(check, {"images": str(inside)}, format="json").json() == {
                "in_place": True,
                "detail": "",
            }
        outside = api("alice").post(check, {"images": str(tmp_path)}, format="json").json()
        assert outside["in_place"] is False
        assert "outside the folders imports may read" in outside["detail"]
        assert api("charlie").post(check, {"images": str(inside)}, format="json").status_code == 404
        assert api("anonymous").post(check, {"images": "/"}, format="json").status_code == 401
        assert api("alice").post(check, {"folder": "/"}, format="json").status_code == 400


CHECK = "/api/datasets/{}/import/check/"
IMPORT = "/api/datasets/{}/import/"


def image_folder(path) -> str:
    path.mkdir(parents=True)
    for i, name in enumerate(["a.png", "b.png"]):
        (path / name).write_bytes(png(i).getvalue())
    return str(path)


@pytest.mark.django_db
class TestLocalImport:
    """Embedded mode: a staff account on this machine imports any folder; nothing else does."""

    def test_the_local_admin_imports_any_folder_in_embedded_mode(
        self, api, dataset, staff, settings, tmp_path
    ) -> None:
        settings.TEAM_MODE = False
        folder = image_folder(tmp_path / "anywhere")
        client = api("staff")
        answer = client.post(CHECK.format(dataset.pk), {"images": folder}, format="json")
        assert answer.json() == {"in_place": True, "detail": ""}
        response = client.post(
            IMPORT.format(dataset.pk), {"images": folder, "embed": "never"}, format="json"
        )
        assert response.status_code == 202
        job = Job.objects.get()
        assert job.options["restrict_to_import_roots"] is False
        assert job.options["embed"] == "never"
        job_execute(job_id=job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
        dataset.refresh_from_db()
        assert dataset.image_root == folder
        assert sorted(Sample.objects.values_list("file_name", flat=True)) == ["a.png", "b.png"]
        assert not EmbeddingSpace.objects.exists()  # embed=never reached the import

    @pytest.mark.parametrize(
        "case",
        ["team mode", "not staff", "another machine", "a proxy header", "behind a proxy"],
    )
    def test_anything_else_reads_only_below_the_import_roots(
        self, api, dataset, staff, settings, tmp_path, case
    ) -> None:
        settings.TEAM_MODE = case == "team mode"
        if case == "behind a proxy":
            settings.CURATION_LOGIN_CLIENT_IP_HEADER = "X-Forwarded-For"
        extra = {
            "another machine": {"REMOTE_ADDR": "192.168.1.20"},
            "a proxy header": {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        }.get(case, {})
        folder = image_folder(tmp_path / "anywhere")
        client = api("alice" if case == "not staff" else "staff")
        answer = client.post(CHECK.format(dataset.pk), {"images": folder}, format="json", **extra)
        assert answer.json()["in_place"] is False
        assert "outside the folders imports may read" in answer.json()["detail"]
        response = client.post(
            IMPORT.format(dataset.pk), {"images": folder}, format="json", **extra
        )
        assert response.status_code == 400
        assert "outside the folders imports may read" in response.json()["detail"]
        assert not Job.objects.exists()

    def test_a_dataset_takes_its_images_from_one_folder(self, api, dataset, team, tmp_path) -> None:
        ImportRoot.objects.create(path=str(tmp_path), name="root", group=team)
        first, second = image_folder(tmp_path / "first"), image_folder(tmp_path / "second")
        dataset.image_root = first
        dataset.save()
        client = api("bob")
        check = CHECK.format(dataset.pk)
        assert client.post(check, {"images": first}, format="json").json()["in_place"] is True
        other = client.post(check, {"images": second}, format="json").json()
        assert other == {
            "in_place": False,
            "detail": "Dataset cats reads its images from another folder; a dataset takes its "
            "images from one folder.",
        }
        response = client.post(url(dataset), {"key": KEY}, format="json")
        assert response.status_code == 400
        assert "reads its images from a server folder" in response.json()["detail"]
        assert not sessions_root(dataset).exists() or not any(sessions_root(dataset).iterdir())

    def test_embed_is_checked(self, api, dataset, team, tmp_path) -> None:
        ImportRoot.objects.create(path=str(tmp_path), name="root", group=team)
        folder = image_folder(tmp_path / "images")
        response = api("alice").post(
            IMPORT.format(dataset.pk), {"images": folder, "embed": "sometimes"}, format="json"
        )
        assert response.status_code == 400 and "embed" in response.json()["detail"]
        response = api("alice").post(
            IMPORT.format(dataset.pk), {"images": folder, "embed": "always"}, format="json"
        )
        assert Job.objects.get(pk=response.json()["job"]).options["embed"] == "always"
