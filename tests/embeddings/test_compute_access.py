"""Registered models and the embed job from the page and the API, at every access level."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from curation.embeddings.compute import embed_job_execute
from curation.models import Dataset, EmbeddingModel, EmbeddingSpace, Job
from tests.support.onnx_models import colour_images, model_files

COMPUTE = "/api/datasets/{}/embeddings/compute/"
MODELS = "/api/embedding-models/"


@pytest.fixture
def models(tmp_path):
    return model_files(tmp_path / "models")


@pytest.fixture
def registered(models, team):
    """``open-clip`` for everyone (with text search); ``team-cnn`` for alice's team only."""
    open_model = EmbeddingModel(
        name="open-clip",
        image_model=str(models["image"]),
        text_model=str(models["text"]),
        tokenizer=str(models["tokenizer"]),
    )
    open_model.full_clean()
    open_model.save()
    team_model = EmbeddingModel(name="team-cnn", image_model=str(models["image"]), group=team)
    team_model.full_clean()
    team_model.save()
    return open_model, team_model


@pytest.fixture
def coloured(dataset, tmp_path):
    return colour_images(dataset, tmp_path / "images")


@pytest.mark.django_db
class TestRegistration:
    def test_saving_checks_the_files_and_records_the_dimension(self, registered) -> None:
        assert [m.dimension for m in registered] == [8, 8]
        assert registered[0].has_text and not registered[1].has_text

    def test_a_relative_or_missing_path_is_refused(self, tmp_path) -> None:
        with pytest.raises(ValidationError, match="is not an absolute path"):
            EmbeddingModel(name="x", image_model="models/m.onnx").full_clean()
        with pytest.raises(ValidationError, match="is not an existing file on the server"):
            EmbeddingModel(name="x", image_model=str(tmp_path / "m.onnx")).full_clean()

    def test_a_bad_model_is_refused_with_the_loader_sentence(self, tmp_path, models) -> None:
        bad = tmp_path / "bad.onnx"
        bad.write_bytes(b"nope")
        with pytest.raises(ValidationError, match=f"{bad}: not a usable ONNX model"):
            EmbeddingModel(name="x", image_model=str(bad)).full_clean()
        with pytest.raises(ValidationError, match="add --tokenizer"):
            EmbeddingModel(
                name="x", image_model=str(models["image"]), text_model=str(models["text"])
            ).full_clean()

    def test_the_admin_lists_and_adds_models(self, client, admin_user, registered, models):
        client.force_login(admin_user)
        assert b"open-clip" in client.get("/admin/curation/embeddingmodel/").content
        response = client.post(
            "/admin/curation/embeddingmodel/add/",
            {"name": "added", "image_model": str(models["image"]), "description": ""},
        )
        assert response.status_code == 302
        assert EmbeddingModel.objects.get(name="added").dimension == 8


@pytest.mark.django_db
class TestModelListApi:
    @pytest.mark.parametrize(
        "who,names", [("alice", ["open-clip", "team-cnn"]), ("charlie", ["open-clip"])]
    )
    def test_users_see_the_models_they_may_use_without_paths(self, api, registered, who, names):
        body = api(who).get(MODELS).json()["results"]
        assert [m["name"] for m in body] == names
        assert body[0] == {
            "id": registered[0].pk,
            "name": "open-clip",
            "description": "",
            "dimension": 8,
            "text_search": True,
        }

    def test_staff_see_the_paths(self, api, registered, models) -> None:
        body = api("staff").get(MODELS).json()["results"]
        assert body[0]["image_model"] == str(models["image"])

    def test_anonymous_is_refused(self, api, registered) -> None:
        assert api("anonymous").get(MODELS).status_code == 401


@pytest.mark.django_db
class TestComputeApi:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_owner_and_the_team_compute_with_a_registered_model(
        self, api, dataset, registered, coloured, who
    ) -> None:
        response = api(who).post(
            COMPUTE.format(dataset.pk), {"model": "open-clip", "name": "clip"}, format="json"
        )
        assert response.status_code == 202, response.json()
        job = embed_job_execute(job_id=response.json()["job"])
        assert job is not None and job.status == Job.Status.SUCCEEDED
        space = EmbeddingSpace.objects.get(dataset=dataset, name="clip")
        assert space.count == 6 and space.source["model"] == "open-clip"
        found = api(who).get(f"/api/datasets/{dataset.pk}/samples/?text=red").json()
        assert found["results"][0]["file_name"] == "red-0.png"

    @pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
    def test_outsiders_cannot_compute(self, api, dataset, registered, coloured, who, code):
        response = api(who).post(
            COMPUTE.format(dataset.pk), {"model": "open-clip", "name": "clip"}, format="json"
        )
        assert response.status_code == code and not Job.objects.exists()

    def test_a_model_of_another_team_is_unknown(self, api, charlie, registered, tmp_path):
        own = colour_images_for(charlie, tmp_path)
        response = api("charlie").post(
            COMPUTE.format(own.pk), {"model": "team-cnn", "name": "x"}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["detail"] == (
            "No embedding model named 'team-cnn' (available: open-clip)."
        )

    def test_paths_are_for_staff_only(self, api, dataset, registered, coloured, models) -> None:
        body = {"image_model": str(models["image"]), "name": "x"}
        response = api("alice").post(COMPUTE.format(dataset.pk), body, format="json")
        assert response.status_code == 403 and "Only staff may give model paths" in str(
            response.json()
        )
        assert not Job.objects.exists()
        staff_response = api("staff").post(COMPUTE.format(dataset.pk), body, format="json")
        assert staff_response.status_code == 202

    @pytest.mark.parametrize(
        "body,message",
        [
            ({"model": "open-clip", "name": "no spaces"}, "The space name 'no spaces' must be"),
            ({"name": "x"}, "Name the model"),
            ({"model": "open-clip", "name": "x", "batch_size": 0}, "batch_size"),
            ({"model": "open-clip", "name": "x", "extra": 1}, "Unknown field"),
        ],
    )
    def test_bad_requests_are_one_sentence(
        self, api, dataset, registered, coloured, body, message
    ) -> None:
        response = api("alice").post(COMPUTE.format(dataset.pk), body, format="json")
        assert response.status_code == 400 and message in str(response.json())
        assert not Job.objects.exists()

    def test_the_job_can_be_cancelled_and_is_visible_to_the_team(
        self, api, dataset, registered, coloured
    ) -> None:
        accepted = api("alice").post(
            COMPUTE.format(dataset.pk), {"model": "open-clip", "name": "clip"}, format="json"
        )
        job_id = accepted.json()["job"]
        assert api("bob").get(f"/api/jobs/{job_id}/").json()["status"] == "queued"
        assert api("charlie").get(f"/api/jobs/{job_id}/").status_code == 404
        assert api("bob").post(f"/api/jobs/{job_id}/cancel/").status_code in (200, 202)
        assert Job.objects.get(pk=job_id).status == Job.Status.CANCELLED
        assert not EmbeddingSpace.objects.exists()


def colour_images_for(user, tmp_path):
    own = Dataset.objects.create(name="charlies", owner=user)
    colour_images(own, tmp_path / "charlie-images")
    return own


@pytest.mark.django_db
class TestComputePage:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_page_lists_models_by_name_and_starts_a_job(
        self, client, dataset, registered, coloured, who, request
    ) -> None:
        client.force_login(request.getfixturevalue(who))
        url = f"/datasets/{dataset.pk}/embeddings/"
        page = client.get(url).content.decode()
        assert "open-clip (8-d, text search)" in page and "team-cnn (8-d)" in page
        assert str(registered[0].image_model) not in page  # paths stay on the server
        response = client.post(url, {"model": "open-clip", "name": "clip", "batch_size": 8})
        job = Job.objects.get(kind=Job.Kind.EMBED)
        assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
        assert job.options["space"] == "clip" and job.options["batch_size"] == 8

    def test_an_outsider_gets_404(self, client, charlie, dataset, registered) -> None:
        client.force_login(charlie)
        url = f"/datasets/{dataset.pk}/embeddings/"
        assert client.get(url).status_code == 404
        assert client.post(url, {"model": "open-clip", "name": "x"}).status_code == 404
        assert not Job.objects.exists()

    def test_a_model_of_another_team_cannot_be_posted(
        self, client, charlie, registered, tmp_path
    ) -> None:
        own = colour_images_for(charlie, tmp_path)
        client.force_login(charlie)
        response = client.post(
            f"/datasets/{own.pk}/embeddings/", {"model": "team-cnn", "name": "x", "batch_size": 4}
        )
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
        assert not Job.objects.exists()

    def test_a_dataset_without_images_is_refused_on_the_form(
        self, client, alice, dataset, registered
    ) -> None:
        client.force_login(alice)
        response = client.post(
            f"/datasets/{dataset.pk}/embeddings/",
            {"model": "open-clip", "name": "x", "batch_size": 4},
        )
        assert response.status_code == 400
        assert "has no image folder on the server" in response.content.decode()

    def test_without_models_the_page_says_whom_to_ask(self, client, alice, dataset) -> None:
        client.force_login(alice)
        assert (
            'id="no-models"' in client.get(f"/datasets/{dataset.pk}/embeddings/").content.decode()
        )
