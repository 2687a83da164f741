"""Text search (``text=`` in the filter language): numpy-exact ranking everywhere a filtered list
is ordered, its refusals as one sentence, and who may search."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from curation.embeddings.onnx_models import TextEncoder
from curation.embeddings.text_search import text_search_clear_caches
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.filters_text import text_ranked_page
from curation.models import Sample, Tag
from curation.storage.embeddings import embedding_space_store
from tests.support.onnx_models import model_files


@pytest.fixture(autouse=True)
def _fresh_caches():
    text_search_clear_caches()
    yield
    text_search_clear_caches()
    cache.clear()  # the browser caches a dataset's metadata fields by its (reused) id


@pytest.fixture
def models(tmp_path):
    return model_files(tmp_path / "models")


def _source(models) -> dict[str, str]:
    return {
        "kind": "onnx",
        "text_model": str(models["text"]),
        "tokenizer": str(models["tokenizer"]),
    }


@pytest.fixture
def searchable(dataset, models):
    """30 samples, 29 with an (unnormalised) vector in space ``clip``, one without."""
    Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"s{i:02d}.jpg") for i in range(30)]
    )
    ids = list(Sample.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
    matrix = np.random.default_rng(3).normal(size=(29, 8)).astype(np.float32) * 3
    embedding_space_store(
        dataset=dataset,
        name="clip",
        matrix=matrix,
        sample_ids=np.array(ids[:29]),
        normalize=False,
        source=_source(models),
    )
    return ids, matrix


def numpy_ranking(models, ids, matrix, text: str) -> list[int]:
    query = TextEncoder(models["text"], models["tokenizer"]).encode([text])[0].astype(np.float64)
    cosine = matrix.astype(np.float64) @ query
    cosine /= np.linalg.norm(matrix.astype(np.float64), axis=1) * np.linalg.norm(query)
    order = sorted(range(len(cosine)), key=lambda r: (-cosine[r], ids[r]))
    return [ids[r] for r in order] + ids[len(matrix) :]


def _grid_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/datasets/\d+/samples/(\d+)/', html)]


@pytest.mark.django_db
class TestRanking:
    @pytest.mark.parametrize("text", ["red", "a photo of blue", "dark green"])
    def test_the_order_equals_a_numpy_cosine_ranking(self, dataset, models, searchable, text):
        ids, matrix = searchable
        page, scores, more = text_ranked_page(
            dataset, SampleFilter.parse({"text": text}), offset=0, size=100
        )
        assert [s.pk for s in page] == numpy_ranking(models, ids, matrix, text)
        assert not more and np.isnan(scores[-1]) and scores[:-1] == sorted(scores[:-1])[::-1]

    def test_pages_follow_the_ranking(self, dataset, models, searchable) -> None:
        ids, matrix = searchable
        expected = numpy_ranking(models, ids, matrix, "blue")
        f = SampleFilter.parse("text=blue")
        first, _, more = text_ranked_page(dataset, f, offset=0, size=12)
        second, _, _ = text_ranked_page(dataset, f, offset=12, size=12)
        assert more and [s.pk for s in first + second] == expected[:24]

    def test_other_filters_narrow_before_ranking(self, dataset, models, searchable) -> None:
        ids, matrix = searchable
        f = SampleFilter.parse("text=red&q=s1")
        page, _, _ = text_ranked_page(dataset, f, offset=0, size=100)
        wanted = [i for i in numpy_ranking(models, ids, matrix, "red") if 10 <= ids.index(i) < 20]
        assert [s.pk for s in page] == wanted

    def test_text_top_keeps_the_best_matches(self, dataset, models, searchable) -> None:
        ids, matrix = searchable
        chosen = filter_samples(dataset, SampleFilter.parse("text=green&text_top=5"))
        assert set(chosen.values_list("pk", flat=True)) == set(
            numpy_ranking(models, ids, matrix, "green")[:5]
        )

    def test_parse_serialise_describe(self) -> None:
        f = SampleFilter.parse("text=a+dog&space=clip&text_top=7&tag=x")
        assert (f.text, f.space, f.text_top) == ("a dog", "clip", 7)
        assert SampleFilter.parse(f.to_querystring()) == f
        assert SampleFilter.parse(f.to_dict()) == f
        assert f.describe() == "in tag x, the 7 best matches for 'a dog' in clip"
        assert SampleFilter.parse("space=clip").is_empty  # nothing to search: dropped
        with pytest.raises(FilterError, match="text_top='x' must be a whole number"):
            SampleFilter.parse("text=a&text_top=x")


@pytest.mark.django_db
class TestRefusals:
    def test_a_space_without_a_text_model_says_so(self, dataset) -> None:
        Sample.objects.create(dataset=dataset, file_name="a.jpg")
        embedding_space_store(
            dataset=dataset,
            name="imported",
            matrix=np.ones((1, 4)),
            sample_ids=np.array(list(Sample.objects.values_list("pk", flat=True))),
        )
        with pytest.raises(FilterError) as info:
            filter_samples(dataset, SampleFilter.parse("text=red&space=imported"))
        assert str(info.value).startswith(
            "The embedding space 'imported' has no text model, so text= cannot search it: "
            "compute it with a text model: manage.py embed"
        )
        with pytest.raises(FilterError, match="has no embedding space with a text model"):
            filter_samples(dataset, SampleFilter.parse("text=red"))

    def test_several_text_spaces_need_space(self, dataset, models, searchable) -> None:
        ids, _ = searchable
        embedding_space_store(
            dataset=dataset,
            name="other",
            matrix=np.ones((2, 8)),
            sample_ids=np.array(ids[:2]),
            source=_source(models),
        )
        with pytest.raises(FilterError, match=r"\(clip, other\): add space=NAME to text="):
            filter_samples(dataset, SampleFilter.parse("text=red"))
        assert filter_samples(dataset, SampleFilter.parse("text=red&space=other")).count() == 30

    def test_select_where_text_on_a_space_without_text_is_one_line(self, dataset, tmp_path):
        Sample.objects.create(dataset=dataset, file_name="a.jpg")
        with pytest.raises(CommandError, match="has no embedding space, so text= cannot search"):
            call_command(
                "select", dataset.name, "--config", _config(tmp_path), "--tag", "t",
                "--where", "text=red",
            )  # fmt: skip
        assert not Tag.objects.filter(dataset=dataset).exists()


def _config(tmp_path) -> str:
    path = tmp_path / "config.json"
    strategy: dict = {"input": {"type": "EMBEDDINGS", "embedding": "clip"}}
    strategy["strategy"] = {"type": "DIVERSITY"}
    path.write_text(json.dumps({"n_samples": 3, "strategies": [strategy]}), encoding="utf-8")
    return str(path)


@pytest.mark.django_db
def test_select_picks_among_the_best_text_matches(dataset, models, searchable, tmp_path) -> None:
    ids, matrix = searchable
    call_command(
        "select", dataset.name, "--config", _config(tmp_path), "--tag", "picked",
        "--where", "text=red&text_top=5",
    )  # fmt: skip
    picked = set(
        Tag.objects.get(dataset=dataset, name="picked").samples.values_list("pk", flat=True)
    )
    assert len(picked) == 3 and picked <= set(numpy_ranking(models, ids, matrix, "red")[:5])


@pytest.mark.django_db
class TestBrowserAndApi:
    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_browser_grid_is_ranked(self, client, dataset, models, searchable, who, request):
        ids, matrix = searchable
        client.force_login(request.getfixturevalue(who))
        response = client.get(f"/datasets/{dataset.pk}/?text=red")
        assert response.status_code == 200
        assert _grid_ids(response.content.decode()) == numpy_ranking(models, ids, matrix, "red")
        assert 'id="text"' in response.content.decode()

    def test_the_browser_shows_a_text_search_error(self, client, alice, dataset) -> None:
        client.force_login(alice)
        response = client.get(f"/datasets/{dataset.pk}/?text=red", headers={"HX-Request": "true"})
        assert "has no embedding space, so text= cannot search" in response.content.decode()

    def test_an_outsider_cannot_search(self, client, charlie, dataset, searchable) -> None:
        client.force_login(charlie)
        assert client.get(f"/datasets/{dataset.pk}/?text=red").status_code == 404

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_the_api_list_is_ranked_with_similarities(self, api, dataset, models, searchable, who):
        ids, matrix = searchable
        url = f"/api/datasets/{dataset.pk}/samples/?text=red&page_size=10"
        seen, similarities = [], []
        while url:
            body = api(who).get(url).json()
            seen += [item["id"] for item in body["results"]]
            similarities += [item["text_similarity"] for item in body["results"]]
            url = body["next"]
        assert seen == numpy_ranking(models, ids, matrix, "red")
        assert similarities[-1] is None and similarities[0] >= similarities[1]

    @pytest.mark.parametrize("who,code", [("charlie", 404), ("anonymous", 401)])
    def test_the_api_refuses_outsiders(self, api, dataset, searchable, who, code) -> None:
        assert api(who).get(f"/api/datasets/{dataset.pk}/samples/?text=red").status_code == code

    def test_the_api_answers_a_bad_text_search_with_one_sentence(self, api, dataset) -> None:
        response = api("alice").get(f"/api/datasets/{dataset.pk}/samples/?text=red&space=nope")
        assert response.status_code == 400
        assert "has no such embedding space" in response.json()["detail"]
