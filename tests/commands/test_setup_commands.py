import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from curation.models import Annotation, AnnotationTask, Dataset, Score
from curation.storage.embeddings import embedding_space_load


def test_ensure_admin_creates_one_admin_and_prints_its_password_once(db, capsys):
    call_command("ensure_admin")
    out = capsys.readouterr().out
    admin = User.objects.get(is_superuser=True)
    password = out.split("password:")[1].split()[0]
    assert admin.username == "admin" and admin.check_password(password)
    call_command("ensure_admin")
    assert "exists already" in capsys.readouterr().out
    assert User.objects.filter(is_superuser=True).count() == 1


def test_demo_needs_an_owner(db):
    with pytest.raises(CommandError, match="No admin account"):
        call_command("demo")


@pytest.mark.slow
def test_demo_builds_the_digits_dataset_once(db, alice, capsys, settings):
    call_command("demo", owner="alice")
    dataset = Dataset.objects.get(name="digits-demo")
    assert dataset.owner == alice
    assert dataset.samples.count() == 1797
    gt = AnnotationTask.objects.get(dataset=dataset, name="ground_truth")
    assert gt.categories == [str(i) for i in range(10)]
    assert Annotation.objects.filter(task=gt).count() == 1797
    predictions = Annotation.objects.filter(task__name="digit-classifier")
    assert predictions.count() == 1797
    first = predictions.order_by("sample_id").first()
    assert first is not None and len(first.probabilities) == 10
    assert abs(sum(first.probabilities) - 1) < 1e-3
    # the classifier is decent on the held-out half
    correct = sum(
        1
        for p in predictions.select_related("sample")
        if p.sample.metadata["split"] == "test"
        and p.label == Annotation.objects.get(task=gt, sample=p.sample_id).label
    )
    assert correct / 898 > 0.9
    assert Score.objects.filter(task="digit-classifier", name="uncertainty_entropy").count() == 1797
    space = dataset.embedding_spaces.get(name="default")
    loaded = embedding_space_load(space)
    assert loaded.matrix.shape == (1797, 32)
    np.testing.assert_allclose(np.linalg.norm(loaded.matrix, axis=1), 1.0, rtol=1e-5)
    sample = dataset.samples.get(file_name="digit_0000.png")
    assert sample.metadata["lightly.sharpness"] > 0
    assert (
        settings.MEDIA_ROOT / "datasets" / str(dataset.pk) / "images" / "digit_0000.png"
    ).is_file()
    capsys.readouterr()
    call_command("demo", owner="alice")
    assert "exists already" in capsys.readouterr().out
    assert Dataset.objects.count() == 1
