"""``/api/datasets/{id}/samples/``: the browser's filter language, cursor pagination, detail."""

from __future__ import annotations

import pytest

from curation.models import Annotation, AnnotationTask, Score, Tag, TagSample
from tests.support.api import iso


@pytest.fixture
def samples(three_samples):
    """This module's ``samples``: the API fixture's three samples (not the browsing pages')."""
    return three_samples


def sample_json(sample):
    return {
        "id": sample.pk,
        "file_name": sample.file_name,
        "width": sample.width,
        "height": sample.height,
        "size_bytes": sample.size_bytes,
        "metadata": sample.metadata,
        "created": iso(sample.created),
        "video": None,  # an image: no video, no frame index (frames: tests/videos/test_api.py)
        "frame_index": None,
    }


@pytest.mark.parametrize("who", ["alice", "bob", "staff"])
def test_it_lists_samples_in_id_order(api, samples, who):
    response = api(who).get(f"/api/datasets/{samples[0].dataset_id}/samples/")
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [sample_json(s) for s in samples],
    }


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_it_hides_samples_from_others(api, samples, who, code):
    response = api(who).get(f"/api/datasets/{samples[0].dataset_id}/samples/")
    assert response.status_code == code


def test_team_cannot_list_a_private_dataset(api, private_dataset):
    assert api("bob").get(f"/api/datasets/{private_dataset.pk}/samples/").status_code == 404


@pytest.mark.parametrize(
    "query,expected",
    [
        ("width_min=300", ["a.jpg", "b.jpg"]),
        ("width_max=320&height_min=200", ["b.jpg"]),
        ("q=C.JP", ["c.jpg"]),
        ("min:w=2", ["b.jpg", "c.jpg"]),
        ("max:w=1.5", ["a.jpg"]),
        ("meta:w=3", ["c.jpg"]),
        ("tag=picked", ["a.jpg", "c.jpg"]),
        ("exclude_tag=picked", ["b.jpg"]),
        ("label=cat&task=ground_truth", ["b.jpg"]),
        ("tag=picked&min:w=2&page_size=10", ["c.jpg"]),
    ],
)
def test_it_filters_like_the_browser(api, samples, query, expected):
    tag = Tag.objects.create(dataset=samples[0].dataset, name="picked")
    TagSample.objects.bulk_create([TagSample(tag=tag, sample=s) for s in (samples[0], samples[2])])
    gt = AnnotationTask.objects.create(
        dataset=samples[0].dataset, name="ground_truth", kind="classification", categories=["cat"]
    )
    Annotation.objects.create(sample=samples[1], task=gt, label="cat")
    response = api("bob").get(f"/api/datasets/{samples[0].dataset_id}/samples/?{query}")
    assert response.status_code == 200, response.json()
    assert [s["file_name"] for s in response.json()["results"]] == expected


@pytest.mark.parametrize(
    "query,detail",
    [
        ("colour=red", "Unknown filter parameter 'colour'"),
        ("tag=nope", "No tag named 'nope' in dataset 'cats'."),
        ("min:w=abc", "Filter parameter min:w='abc' must be a number."),
        ("min:w=inf", "must be a finite number"),
        ("width_min=abc", "width_min: A valid integer is required."),
        ("width_min=99999999999999999999999", "width_min: Ensure this value is less than"),
        ("height_max=-1", "height_max: Ensure this value is greater than or equal to 0."),
    ],
)
def test_a_bad_filter_is_400_naming_the_parameter(api, samples, query, detail):
    response = api("alice").get(f"/api/datasets/{samples[0].dataset_id}/samples/?{query}")
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_pages_follow_the_cursor(api, samples):
    client = api("alice")
    url = f"/api/datasets/{samples[0].dataset_id}/samples/?page_size=2&q=.jpg"
    first = client.get(url).json()
    assert [s["id"] for s in first["results"]] == [samples[0].pk, samples[1].pk]
    assert "q=.jpg" in first["next"]
    second = client.get(first["next"]).json()
    assert [s["id"] for s in second["results"]] == [samples[2].pk]
    assert second["next"] is None


def test_detail_has_metadata_annotations_scores_and_tags(api, samples):
    sample = samples[1]
    dataset = sample.dataset
    gt = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="detection", categories=["cat"]
    )
    Annotation.objects.create(sample=sample, task=gt, label="cat", x=1, y=2, w=3, h=4)
    pred = AnnotationTask.objects.create(
        dataset=dataset, name="model", kind="classification", categories=["cat", "dog"]
    )
    Annotation.objects.create(
        sample=sample, task=pred, label="dog", score=0.7, probabilities=[0.3, 0.7]
    )
    Score.objects.create(sample=sample, task="model", name="uncertainty_entropy", value=0.5)
    tag = Tag.objects.create(dataset=dataset, name="train")
    TagSample.objects.create(tag=tag, sample=sample)
    response = api("bob").get(f"/api/datasets/{dataset.pk}/samples/{sample.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        **sample_json(sample),
        "annotations": [
            {
                "task": "ground_truth",
                "kind": "detection",
                "label": "cat",
                "bbox": [1.0, 2.0, 3.0, 4.0],
                "score": None,
                "probabilities": None,
            },
            {
                "task": "model",
                "kind": "classification",
                "label": "dog",
                "bbox": None,
                "score": 0.7,
                "probabilities": [0.3, 0.7],
            },
        ],
        "scores": [{"task": "model", "name": "uncertainty_entropy", "value": 0.5}],
        "tags": [{"id": tag.pk, "name": "train"}],
    }


@pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
def test_detail_is_hidden_from_others(api, samples, who, code):
    sample = samples[0]
    response = api(who).get(f"/api/datasets/{sample.dataset_id}/samples/{sample.pk}/")
    assert response.status_code == code


def test_a_sample_of_another_dataset_is_404(api, samples, private_dataset):
    response = api("alice").get(f"/api/datasets/{private_dataset.pk}/samples/{samples[0].pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such sample in this dataset."}


def test_a_huge_sample_id_is_404(api, samples):
    response = api("alice").get(f"/api/datasets/{samples[0].dataset_id}/samples/{10**30}/")
    assert response.status_code == 404
