"""The embedding map's colour-by endpoint, its hover preview and the projection's label."""

from __future__ import annotations

import base64
import sys
import types
from collections import Counter

import numpy as np
import pytest
from django.urls import reverse

from curation.browse import map_colours
from curation.browse.maps import projection_schedule
from curation.browse.overlays import class_colour
from curation.models import Annotation, AnnotationTask, EmbeddingSpace, Sample, TagSample
from curation.storage.embeddings import embedding_space_load, embedding_space_store

NOT_A_FIELD = "is not a field: use label:TASK, tag:NAME, number:KEY or string:KEY."


def colours(client, dataset, field: str, space: str = "default"):
    url = reverse("map-colours", args=[dataset.pk])
    return client.get(url, {"space": space, "colour": field})


def point_ids(client, dataset) -> list[int]:
    data = client.get(reverse("map-points", args=[dataset.pk]) + "?space=default").content
    n = int.from_bytes(data[8:12], "little")
    return np.frombuffer(data, "<u4", n, 16).tolist()


def values(payload) -> np.ndarray:
    raw = base64.b64decode(payload["values"])
    return np.frombuffer(raw, "<u2" if payload["dtype"] == "uint16" else "u1")


def by_point(client, dataset, payload) -> dict[int, object]:
    """Each point's value as a name (categories; None: no value) or a number."""
    ids = point_ids(client, dataset)
    assert payload["count"] == len(ids)
    out: dict[int, object] = {}
    for sample_id, v in zip(ids, values(payload).tolist(), strict=True):
        if payload["kind"] == "number":
            span = payload["high"] - payload["low"]
            out[sample_id] = None if v == 65535 else payload["low"] + v / 65534 * span
        else:
            out[sample_id] = None if v == 255 else payload["categories"][v]["name"]
    return out


class TestPage:
    def test_it_offers_every_field_and_names_the_projection(
        self, client, alice, dataset, space, train_tag
    ):
        client.force_login(alice)
        text = client.get(reverse("embedding-map", args=[dataset.pk])).content.decode()
        assert '<label for="colour">Colour by</label>' in text
        for value in (
            "label:ground_truth",
            "label:detector",
            "tag:train",
            "number:lightly.sharpness",
            "string:split",
            "string:night",
        ):
            assert f'value="{value}"' in text
        assert "Projection: <strong>PCA</strong>" in text
        assert 'data-colours-url="' in text and "<script>" not in text and "style=" not in text

    def test_it_keeps_the_chosen_field_selected(self, client, alice, dataset, space):
        client.force_login(alice)
        url = reverse("embedding-map", args=[dataset.pk]) + "?colour=string:split&q=cat"
        text = client.get(url).content.decode()
        assert '<option value="string:split" selected>' in text
        assert 'data-filter-query="q=cat"' in text  # colour= is display state, not a filter


class TestColours:
    def test_ground_truth_labels(self, client, alice, dataset, samples, space):
        client.force_login(alice)
        payload = colours(client, dataset, "label:ground_truth").json()
        assert payload["kind"] == "category" and payload["dtype"] == "uint8"
        truth = dict(
            Annotation.objects.filter(task__name="ground_truth").values_list("sample_id", "label")
        )
        assert by_point(client, dataset, payload) == truth
        assert payload["categories"] == [
            {"name": "cat", "colour": class_colour("cat"), "count": 6},
            {"name": "dog", "colour": class_colour("dog"), "count": 6},
        ]
        assert payload["missing"] == 0
        assert payload["etag"] == client.get(reverse("map-points", args=[dataset.pk]))["ETag"]

    def test_a_prediction_task_and_samples_without_a_label(
        self, client, alice, dataset, samples, space
    ):
        Annotation.objects.filter(task__name="detector", sample=samples[3]).update(label="dog")
        Annotation.objects.filter(task__name="detector", sample=samples[5]).delete()
        client.force_login(alice)
        payload = colours(client, dataset, "label:detector").json()
        rows = Annotation.objects.filter(task__name="detector").values_list("sample_id", "label")
        expected = {s.pk: None for s in samples} | dict(rows)
        assert by_point(client, dataset, payload) == expected
        assert [(c["name"], c["count"]) for c in payload["categories"]] == [("cat", 10), ("dog", 1)]
        assert payload["missing"] == 1

    def test_a_sample_with_several_boxes_takes_the_most_frequent_class(
        self, client, alice, dataset, samples, space
    ):
        task = AnnotationTask.objects.get(dataset=dataset, name="ground_truth")
        Annotation.objects.create(sample=samples[0], task=task, label="dog", x=1, y=1, w=2, h=2)
        Annotation.objects.create(sample=samples[6], task=task, label="bird", x=1, y=1, w=2, h=2)
        client.force_login(alice)
        found = by_point(client, dataset, colours(client, dataset, "label:ground_truth").json())
        frequency = Counter(Annotation.objects.filter(task=task).values_list("label", flat=True))
        for sample in samples:
            labels = set(sample.annotations.filter(task=task).values_list("label", flat=True))
            assert found[sample.pk] == max(
                labels, key=lambda label: (frequency[label], -ord(label[0]))
            )
        assert found[samples[0].pk] == "dog" and found[samples[6].pk] == "dog"  # 7 dogs > 6 cats

    def test_rare_values_are_other(self, client, alice, dataset, samples, space, monkeypatch):
        monkeypatch.setattr(map_colours, "MAX_CATEGORIES", 1)
        client.force_login(alice)
        payload = colours(client, dataset, "string:split").json()
        splits = {s.pk: s.metadata["split"] for s in Sample.objects.filter(dataset=dataset)}
        top = Counter(splits.values()).most_common(1)[0][0]  # train: 8 of 12
        assert by_point(client, dataset, payload) == {
            pk: value if value == top else "other" for pk, value in splits.items()
        }
        assert payload["categories"][-1] == {
            "name": "other",
            "colour": map_colours.OTHER_COLOUR,
            "count": 4,
        }

    def test_tag_membership(self, client, alice, dataset, samples, space, train_tag):
        client.force_login(alice)
        payload = colours(client, dataset, "tag:train").json()
        members = set(TagSample.objects.filter(tag=train_tag).values_list("sample_id", flat=True))
        expected = {s.pk: "in train" if s.pk in members else "not in train" for s in samples}
        assert by_point(client, dataset, payload) == expected
        assert [c["count"] for c in payload["categories"]] == [4, 8]

    def test_a_numeric_key_on_a_scale(self, client, alice, dataset, samples, space):
        Sample.objects.filter(pk=samples[2].pk).update(metadata={"lightly.sharpness": "n/a"})
        Sample.objects.filter(pk=samples[4].pk).update(metadata={})
        client.force_login(alice)
        payload = colours(client, dataset, "number:lightly.sharpness").json()
        assert payload["kind"] == "number" and payload["dtype"] == "uint16"
        stored = {
            s.pk: s.metadata.get("lightly.sharpness")
            for s in Sample.objects.filter(dataset=dataset)
        }
        numbers = [v for v in stored.values() if isinstance(v, float)]
        assert (payload["low"], payload["high"]) == (min(numbers), max(numbers)) == (10.0, 120.0)
        found = by_point(client, dataset, payload)
        for pk, value in stored.items():
            if isinstance(value, float):
                assert found[pk] == pytest.approx(value, abs=110 / 65534)
            else:
                assert found[pk] is None
        assert payload["missing"] == 2

    def test_a_string_key_and_a_boolean_key(self, client, alice, dataset, samples, space):
        client.force_login(alice)
        for key in ("split", "night"):
            payload = colours(client, dataset, f"string:{key}").json()
            expected = {
                s.pk: str(s.metadata[key]).lower() for s in Sample.objects.filter(dataset=dataset)
            }
            assert by_point(client, dataset, payload) == expected
            for category in payload["categories"]:
                assert category["colour"] == class_colour(category["name"])

    @pytest.mark.parametrize(
        ("field", "message"),
        [
            ("", f"Colour by '' {NOT_A_FIELD}"),
            ("size:x", f"Colour by 'size:x' {NOT_A_FIELD}"),
            ("tag:nope", "No tag named 'nope' in dataset 'cats'."),
            ("label:nope", "No task named 'nope' in dataset 'cats'."),
        ],
    )  # fmt: skip
    def test_a_bad_field_is_one_sentence(self, client, alice, dataset, space, field, message):
        client.force_login(alice)
        response = colours(client, dataset, field)
        assert (response.status_code, response.json()) == (400, {"error": message})

    def test_an_unmapped_space_is_not_ready_and_nothing_is_written(
        self, client, alice, dataset, samples
    ):
        stored = embedding_space_store(
            dataset=dataset,
            name="default",
            matrix=np.ones((len(samples), 2), np.float32),
            sample_ids=np.array([s.pk for s in samples]),
        )
        client.force_login(alice)
        assert colours(client, dataset, "label:ground_truth").json() == {
            "ready": False,
            "message": "This space has no map yet: press Compute the map.",
        }
        assert EmbeddingSpace.objects.get(pk=stored.pk).projection is None

    def test_no_space_is_404(self, client, alice, dataset):
        client.force_login(alice)
        response = colours(client, dataset, "label:ground_truth")
        assert response.status_code == 404
        assert response.json() == {"error": "This dataset has no embedding space."}

    @pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
    def test_access_levels(self, client, request, dataset, space, train_tag, who, status):
        client.force_login(request.getfixturevalue(who))
        response = colours(client, dataset, "tag:train")
        assert response.status_code == status
        assert (b"in train" in response.content) == (status == 200)

    def test_anonymous_is_sent_to_login(self, client, dataset, space):
        response = colours(client, dataset, "tag:train")
        assert response.status_code == 302 and reverse("login") in response["Location"]


class TestHover:
    def url(self, dataset, sample):
        return reverse("map-hover", args=[dataset.pk, sample.pk])

    @pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("charlie", 404)])
    def test_access_levels(self, client, request, dataset, samples, who, status):
        client.force_login(request.getfixturevalue(who))
        response = client.get(self.url(dataset, samples[3]))
        assert response.status_code == status
        text = response.content.decode()
        thumbnail = reverse("sample-thumbnail", args=[samples[3].pk])
        assert ("cat_03.png" in text and f'src="{thumbnail}"' in text) == (status == 200)

    def test_a_sample_of_another_dataset_is_404(self, client, alice, dataset, outsider_dataset):
        client.force_login(alice)
        other = Sample.objects.get(dataset=outsider_dataset)
        response = client.get(reverse("map-hover", args=[dataset.pk, other.pk]))
        assert response.status_code == 404 and b"secret.png" not in response.content

    def test_the_file_name_is_escaped(self, client, alice, dataset, samples):
        Sample.objects.filter(pk=samples[0].pk).update(file_name="<b>x</b>.png")
        client.force_login(alice)
        text = client.get(self.url(dataset, samples[0])).content.decode()
        assert "&lt;b&gt;x&lt;/b&gt;.png" in text and "<b>" not in text


class FakeUmap:
    """Stands in for umap-learn (not installed here): records the rows it is fitted on."""

    fitted: list[int] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def fit_transform(self, matrix):
        FakeUmap.fitted.append(len(matrix))
        return matrix[:, :2] * 2

    def transform(self, matrix):
        return matrix[:, :2] * 2


def test_umap_makes_the_map_when_it_is_installed(client, alice, dataset, samples, monkeypatch):
    module = types.ModuleType("umap")
    module.UMAP = FakeUmap  # type: ignore[attr-defined]
    module.__spec__ = types.SimpleNamespace(name="umap")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "umap", module)
    monkeypatch.setattr("curation.browse.projections.FIT_ROWS", 8)
    matrix = np.random.default_rng(3).normal(size=(len(samples), 4)).astype(np.float32)
    stored = embedding_space_store(
        dataset=dataset, name="default", matrix=matrix, sample_ids=[s.pk for s in samples]
    )
    FakeUmap.fitted = []
    projection_schedule(space=stored)
    projection = EmbeddingSpace.objects.get(pk=stored.pk).projection
    assert projection["method"] == "umap" and FakeUmap.fitted == [8]
    stored_matrix = np.asarray(embedding_space_load(stored).matrix)  # as stored (normalised)
    points = (stored_matrix[:, :2] * 2).astype(np.float64)  # what FakeUmap placed
    low = points.min(axis=0)
    scaled = (points - low) / (points.max(axis=0) - low).max() * projection["scale"]
    assert projection["x"] == np.rint(scaled[:, 0]).astype(int).tolist()
    client.force_login(alice)
    text = client.get(reverse("embedding-map", args=[dataset.pk])).content.decode()
    assert "Projection: <strong>UMAP</strong>" in text
