"""Typicality / similarity metadata over the API: access, checks, exact engine values."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from curation.embeddings import score_metadata
from curation.embeddings.score_metadata import score_job_execute
from curation.models import EmbeddingSpace, Job, Sample
from curation.selection.kernels_knn import typicality_scores
from curation.storage.embeddings import embedding_space_load
from curation.tags.services import tag_create
from tests.support.selection import populate

TYP = "/api/datasets/{}/metadata/typicality/"
SIM = "/api/datasets/{}/metadata/similarity/"


@pytest.mark.django_db
class TestScoreMetadata:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_it_stores_typicality_exactly(self, api, dataset, who) -> None:
        populate(dataset, n=20)
        response = api(who).post(
            TYP.format(dataset.pk),
            {"metadata_name": "typ", "num_nearest_neighbors": 5},
            format="json",
        )
        assert response.status_code == 202 and response.json()["metadata_name"] == "typ"
        job = score_job_execute(job_id=response.json()["job"])
        assert job is not None and job.status == Job.Status.SUCCEEDED
        loaded = embedding_space_load(EmbeddingSpace.objects.get(dataset=dataset))
        expected = typicality_scores(loaded.matrix, None, 5)
        stored = dict(Sample.objects.filter(dataset=dataset).values_list("pk", "metadata__typ"))
        assert [stored[int(i)] for i in loaded.sample_ids] == pytest.approx(
            expected.tolist(), rel=0, abs=0
        )

    def test_similarity_generates_a_name_and_removes_stale_values(self, api, dataset) -> None:
        ids = populate(dataset, n=12)
        tag_create(dataset=dataset, name="q", sample_ids=ids[:2])
        extra = Sample.objects.create(
            dataset=dataset, file_name="no-vector.jpg", metadata={"similarity_to_q": 5}
        )
        response = api("alice").post(SIM.format(dataset.pk), {"query_tag_name": "q"}, format="json")
        assert response.json()["metadata_name"] == "similarity_to_q"
        score_job_execute(job_id=response.json()["job"])
        values = dict(Sample.objects.filter(dataset=dataset).values_list("pk", "metadata"))
        assert values[ids[0]]["similarity_to_q"] == 1.0
        assert all(0 < values[i]["similarity_to_q"] <= 1 for i in ids)
        assert "similarity_to_q" not in values[extra.pk]

    @pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
    def test_it_is_refused_without_access(self, api, dataset, who, code) -> None:
        populate(dataset, n=5)
        response = api(who).post(TYP.format(dataset.pk), {"metadata_name": "t"}, format="json")
        assert response.status_code == code
        assert not Job.objects.exists()

    @pytest.mark.parametrize(
        "path,body,message",
        [
            (TYP, {"metadata_name": "lightly.t"}, "keys starting with 'lightly.' are reserved"),
            (TYP, {"metadata_name": "t", "embedding_model_name": "x"}, "no embedding space 'x'"),
            (TYP, {"metadata_name": "t", "num_nearest_neighbors": 0}, "num_nearest_neighbors"),
            (TYP, {"metadata_name": "t", "extra": 1}, "Unknown field"),
            (SIM, {"query_tag_name": "ghost"}, "No tag named 'ghost'"),
        ],
    )
    def test_bad_input_is_one_sentence_and_records_nothing(
        self, api, dataset, path, body, message
    ) -> None:
        populate(dataset, n=5)
        response = api("alice").post(path.format(dataset.pk), body, format="json")
        assert response.status_code == 400 and message in response.json()["detail"]
        assert not Job.objects.exists()
        assert not any("t" in m for m in Sample.objects.values_list("metadata", flat=True))


@pytest.mark.django_db
class TestSampleCount:
    @pytest.mark.parametrize(
        "who,code", [("alice", 200), ("bob", 200), ("charlie", 404), ("anonymous", 401)]
    )
    def test_it_counts_filtered_samples(self, api, dataset, who, code) -> None:
        populate(dataset, n=9)
        response = api(who).get(
            f"/api/datasets/{dataset.pk}/samples/count/", {"meta:weather.description": "sunny"}
        )
        assert response.status_code == code
        if code == 200:
            expected = sum(
                m.get("weather.description") == "sunny"
                for m in Sample.objects.values_list("metadata", flat=True)
            )
            assert response.json() == {"count": expected} and expected > 0

    def test_a_bad_filter_is_one_sentence(self, api, dataset) -> None:
        response = api("alice").get(f"/api/datasets/{dataset.pk}/samples/count/", {"tag": "x"})
        assert response.status_code == 400
        assert response.json()["detail"] == f"No tag named 'x' in dataset {dataset.name!r}."


@pytest.mark.django_db
class TestSampleListExpand:
    @pytest.mark.parametrize(
        "who,code", [("alice", 200), ("bob", 200), ("charlie", 404), ("anonymous", 401)]
    )
    def test_it_adds_tags_annotations_and_scores_per_page(
        self, api, dataset, who, code, django_assert_max_num_queries
    ) -> None:
        ids = populate(dataset, n=30)
        tag_create(dataset=dataset, name="q", sample_ids=ids[:3])
        client = api(who)
        url = f"/api/datasets/{dataset.pk}/samples/"
        with django_assert_max_num_queries(12):  # the same for 10 samples or 500
            response = client.get(url, {"expand": "tags,annotations,scores", "page_size": 10})
        assert response.status_code == code
        if code != 200:
            return
        first = response.json()["results"][0]
        detail = client.get(f"{url}{ids[0]}/").json()
        assert {k: first[k] for k in ("tags", "annotations", "scores")} == {
            k: detail[k] for k in ("tags", "annotations", "scores")
        }
        assert first["tags"] == [{"id": first["tags"][0]["id"], "name": "q"}]
        assert first["scores"] and first["annotations"]
        plain = client.get(url, {"page_size": 10}).json()["results"][0]
        assert not {"tags", "annotations", "scores"} & set(plain)
        only = client.get(url, {"expand": "tags", "tag": "q", "page_size": 2}).json()
        assert [set(s) - set(plain) for s in only["results"]] == [{"tags"}, {"tags"}]
        following = client.get(only["next"]).json()["results"]
        assert [s["id"] for s in following] == [ids[2]] and "tags" in following[0]
        counted = client.get(f"{url}count/", {"expand": "tags", "tag": "q"}).json()
        assert counted == {"count": 3}

    def test_an_unknown_expansion_is_one_sentence(self, api, dataset) -> None:
        response = api("alice").get(f"/api/datasets/{dataset.pk}/samples/", {"expand": "pixels"})
        assert response.status_code == 400
        assert response.json()["detail"] == (
            "expand: Unknown value 'pixels': use tags, annotations, scores (comma-separated)."
        )


@pytest.mark.django_db(transaction=True)
def test_the_write_beats_from_its_own_connection(api, dataset, settings, monkeypatch) -> None:
    """A long write transaction keeps the job's heartbeat and progress fresh for recovery."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has one writer: the job's process is seen alive by its pid instead")
    settings.CURATION_WORKER_HEARTBEAT_SECONDS = 0.2
    populate(dataset, n=30)
    monkeypatch.setattr(score_metadata, "WRITE_CHUNK", 10)
    seen: list[tuple[object, int]] = []
    real = Sample.objects.bulk_update

    def slow_bulk_update(objs, fields, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.4)  # a slow chunk; the beat thread writes meanwhile, committed at once
        seen.append(tuple(Job.objects.values_list("heartbeat_at", "done").get()))
        return real(objs, fields, **kwargs)

    monkeypatch.setattr(Sample.objects, "bulk_update", slow_bulk_update)
    response = api("alice").post(TYP.format(dataset.pk), {"metadata_name": "typ"}, format="json")
    job = score_job_execute(job_id=response.json()["job"])
    assert job is not None and job.status == Job.Status.SUCCEEDED
    beats = [beat for beat, _ in seen]
    assert beats == sorted(beats) and len(set(beats)) >= 3  # fresh during the transaction
    assert [done for _, done in seen][1:3] == [10, 20]  # chunks written so far, visible
    assert all(m["typ"] > 0 for m in Sample.objects.values_list("metadata", flat=True))
