import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from curation.jobs.services import job_execute
from curation.models import Dataset, Job, Sample, SelectionRun
from curation.storage.embeddings import embedding_paths, embedding_space_store


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="root-password")


def test_staff_reaches_the_admin(client, superuser):
    client.force_login(superuser)
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_non_staff_is_sent_to_the_admin_login(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("admin:curation_dataset_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_anonymous_is_sent_to_the_admin_login(client, db):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302


def test_dataset_list_shows_counts(client, superuser, dataset):
    Sample.objects.bulk_create([Sample(dataset=dataset, file_name=f"{i}.png") for i in range(3)])
    client.force_login(superuser)
    response = client.get(reverse("admin:curation_dataset_changelist"))
    assert response.status_code == 200
    row = response.content.decode()
    assert '<td class="field-sample_count">3</td>' in row
    assert '<td class="field-tag_count">0</td>' in row


def test_every_model_has_an_admin_page(client, superuser, dataset):
    client.force_login(superuser)
    for model in [
        "dataset", "sample", "tag", "embeddingspace", "annotationtask", "annotation",
        "score", "strategypreset", "selectionrun", "workerheartbeat",
    ]:  # fmt: skip
        response = client.get(reverse(f"admin:curation_{model}_changelist"))
        assert response.status_code == 200, model


def test_run_history_is_read_only(client, superuser, dataset):
    run = SelectionRun.objects.create(dataset=dataset, config={}, result_tag_name="r")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:curation_selectionrun_change", args=[run.pk]), {"result_tag_name": "x"}
    )
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.result_tag_name == "r"
    assert client.get(reverse("admin:curation_selectionrun_add")).status_code == 403


def test_delete_action_removes_rows_and_files(
    client, superuser, dataset, django_capture_on_commit_callbacks
):
    samples = Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png") for i in range(2)]
    )
    space = embedding_space_store(
        dataset=dataset, name="default", matrix=np.ones((2, 3)), sample_ids=[s.pk for s in samples]
    )
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:curation_dataset_changelist"),
            {"action": "delete_with_files", "_selected_action": [dataset.pk]},
        )
    assert response.status_code == 302
    job = Job.objects.get(kind=Job.Kind.DELETE, dataset=dataset)
    assert job.task_id  # enqueued once the request committed
    assert Dataset.objects.get(pk=dataset.pk).deleting
    text = client.get(response["Location"]).content.decode()
    assert (
        f'Deleting 1 datasets in the background: cats (<a href="/jobs/{job.pk}/">job {job.pk}</a>)'
        in text
    )
    job_execute(job_id=job.pk)  # as a worker would
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Sample.objects.exists()
    assert not any(p.exists() for p in embedding_paths(space))


def test_recompute_metadata_action_reads_the_images(client, superuser, dataset, tmp_path):
    image = Image.new("L", (40, 30), color=128)
    image.putpixel((5, 5), 0)
    image.save(tmp_path / "a.png")
    dataset.image_root = str(tmp_path)
    dataset.save()
    sample = Sample.objects.create(dataset=dataset, file_name="a.png", metadata={"weather": "sun"})
    Sample.objects.create(dataset=dataset, file_name="missing.png")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:curation_dataset_changelist"),
        {"action": "recompute_builtin_metadata", "_selected_action": [dataset.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "recomputed 1 samples" in text
    assert "1 images could not be read" in text and "missing.png" in text
    sample.refresh_from_db()
    assert (sample.width, sample.height) == (40, 30)
    assert sample.metadata["weather"] == "sun"
    assert sample.metadata["lightly.sharpness"] > 0
