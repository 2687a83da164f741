"""The facet index (``curation.browse.facet_index`` and ``facet_panels``): every panel counted on
the index equals the SQL aggregate of ``curation.browse.facets`` for the same filter, on data
made to trip a column store (mixed JSON types, -0.0, numbers float8 cannot hold, strings that
spell numbers and booleans, ties at the edge of the top values); writes are seen at once and
tagging keeps the rest of the index."""

from __future__ import annotations

import random

import numpy as np
import pytest
from django.db import connection

from curation.browse import facet_index, facets
from curation.browse.facet_index import index_mask
from curation.browse.facets import histogram_facet, label_facet, tag_facet, value_facet
from curation.browse.filter_cache import data_state
from curation.filters import FilterError, SampleFilter, filter_samples
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the facet index is kept for PostgreSQL datasets"
)
BUDGET = 60_000
KEYS = ["mixed", "weather", "speed", "night", "huge"]
FILTERS = [
    "",
    "label=cat",
    "label=cat&task=ground_truth",
    "task=detector",
    "label=nothing-like-it",
    "task=unknown-task",
    "tag=train",
    "exclude_tag=train",
    "tag=train&tag=odd&exclude_tag=empty",
    "meta:weather=rain",
    "meta:weather=rain&meta:weather=sun",
    "meta:mixed=3",
    "meta:mixed=true",
    "meta:mixed=0",
    "meta:mixed=-0",
    "meta:mixed=x",
    "meta:night=false",
    "min:speed=10&max:speed=60",
    "min:mixed=-1",
    "max:speed=0",
    "min:speed=1e300",
    "label=dog&meta:weather=snow&min:speed=5&tag=odd",
    "meta:huge=1",
    "min:huge=0",
    "q=1",  # file-name search: answered in SQL
]
MIXED = [3, 3.0, "3", True, False, "true", 0, -0.0, 0.1, None, [1], {"a": 1}, "x", "ü", 1e20, -7.5]


def _world(dataset: Dataset, n: int = 120, seed: int = 7) -> None:
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        metadata: dict[str, object] = {
            "weather": rng.choice(["rain", "sun", "snow", "fog"]),
            "speed": rng.choice([rng.randint(-5, 90), rng.random() * 80, 7]),
            "night": rng.random() < 0.3,
        }
        if rng.random() < 0.8:
            metadata["mixed"] = rng.choice(MIXED)
        if i % 10 == 0:
            metadata["huge"] = 9007199254740993 if i % 20 == 0 else 1
        samples.append(Sample(dataset=dataset, file_name=f"{i}.jpg", metadata=metadata))
    samples = Sample.objects.bulk_create(samples)
    truth = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="classification", categories=["cat", "dog"]
    )
    boxes = AnnotationTask.objects.create(dataset=dataset, name="detector", kind="detection")
    rows = []
    for i, s in enumerate(samples):
        if i % 7:
            rows.append(Annotation(sample=s, task=truth, label=rng.choice(["cat", "dog"])))
        for _ in range(i % 3):  # 0 to 2 boxes, maybe of one class twice
            rows.append(Annotation(sample=s, task=boxes, label=rng.choice(["cat", "car"])))
    Annotation.objects.bulk_create(rows)
    for name, step in (("train", 3), ("odd", 2), ("empty", 0)):
        tag = Tag.objects.create(dataset=dataset, name=name)
        if step:
            TagSample.objects.bulk_create(
                TagSample(tag=tag, sample=s) for i, s in enumerate(samples) if i % step == 1
            )


@pytest.fixture
def world(transactional_db, alice, team, settings):
    settings.CURATION_FACET_INDEX_MIN_SAMPLES = 0
    settings.CURATION_FACET_INDEX_BACKGROUND = False  # built in the request: deterministic
    facet_index.facet_index_clear()
    dataset = Dataset.objects.create(name="cats", owner=alice, team=team)
    _world(dataset)
    yield dataset
    facet_index.facet_index_clear()


def _panels(dataset: Dataset, query: str) -> list[object]:
    f = SampleFilter.parse(query)
    found: list[object] = [
        [(r.tag.name, r.count) for r in tag_facet(dataset, f, budget_ms=BUDGET).rows],
        [(r.label, r.counts) for r in label_facet(dataset, f, budget_ms=BUDGET).rows],
    ]
    for key in KEYS:
        v = value_facet(dataset, f, key, budget_ms=BUDGET)
        h = histogram_facet(dataset, f, key, budget_ms=BUDGET)
        found += [(v.values, v.other, v.distinct), (h.low, h.high, h.counts)]
    return found


def _sql_panels(dataset: Dataset, query: str, settings) -> list[object]:
    settings.CURATION_FACET_INDEX_MIN_SAMPLES = 10**12
    try:
        return _panels(dataset, query)
    finally:
        settings.CURATION_FACET_INDEX_MIN_SAMPLES = 0


@pytest.mark.parametrize("query", FILTERS)
def test_every_panel_on_the_index_equals_the_sql_aggregate(world, settings, query):
    assert _panels(world, query) == _sql_panels(world, query, settings)
    assert (world.pk in facet_index._INDEXES) == (query != "q=1")  # the index answered


def test_the_index_mask_is_the_filter(world):
    state = data_state(world)
    index = facet_index.facet_index(world, state)
    assert index is not None and state is not None
    for query in FILTERS:
        f = SampleFilter.parse(query)
        mask = index_mask(index, world, f, state)
        if query == "q=1" or "huge" in query:  # SQL: file names; numbers float8 cannot hold
            assert mask is None
            continue
        assert mask is not None
        expected = set(filter_samples(world, f).values_list("pk", flat=True))
        assert set(index.ids[mask].tolist()) == expected, query


def test_ties_at_the_edge_of_the_top_values_are_ordered_as_sql_orders_them(
    world, settings, monkeypatch
):
    for top in (1, 2, 3, 5):
        monkeypatch.setattr(facets, "TOP_VALUES", top)
        for query in ("", "label=dog", "tag=odd"):
            assert _panels(world, query) == _sql_panels(world, query, settings)


def test_an_unknown_tag_is_the_same_error(world):
    with pytest.raises(FilterError, match="nope"):
        label_facet(world, SampleFilter.parse("tag=nope"), budget_ms=BUDGET)


def test_writes_are_counted_at_once_and_tagging_keeps_the_columns(world, settings):
    f = SampleFilter.parse("")
    value_facet(world, f, "weather", budget_ms=BUDGET)
    index = facet_index._INDEXES[world.pk]
    assert "weather" in index.keys
    sample = Sample.objects.filter(dataset=world).first()
    TagSample.objects.create(tag=Tag.objects.get(dataset=world, name="empty"), sample=sample)
    rows = dict((r.tag.name, r.count) for r in tag_facet(world, f, budget_ms=BUDGET).rows)
    assert rows["empty"] == 1
    assert facet_index._INDEXES[world.pk] is index  # tag memberships only: same columns
    Sample.objects.filter(pk=sample.pk).update(metadata={"weather": "hail"})
    values = dict(value_facet(world, f, "weather", budget_ms=BUDGET).values)
    assert values["hail"] == 1
    assert facet_index._INDEXES[world.pk] is not index  # samples written: built again
    assert _panels(world, "tag=empty") == _sql_panels(world, "tag=empty", settings)


def test_small_datasets_and_writing_transactions_are_counted_in_sql(world, settings):
    from django.db import transaction

    settings.CURATION_FACET_INDEX_MIN_SAMPLES = 1_000
    value_facet(world, SampleFilter(), "weather", budget_ms=BUDGET)
    settings.CURATION_FACET_INDEX_MIN_SAMPLES = 0
    with transaction.atomic():
        Sample.objects.create(dataset=world, file_name="new.jpg", metadata={"weather": "hail"})
        values = dict(value_facet(world, SampleFilter(), "weather", budget_ms=BUDGET).values)
        assert values["hail"] == 1  # its own write, counted in SQL
        transaction.set_rollback(True)


def test_the_api_count_reads_a_built_index_and_never_builds_one(world, client, alice, monkeypatch):
    from curation.browse import api_count

    client.force_login(alice)
    url = f"/api/datasets/{world.pk}/samples/count/"
    query = "meta:weather=rain&label=cat"
    expected = filter_samples(world, SampleFilter.parse(query)).count()
    assert client.get(f"{url}?{query}").json() == {"count": expected}
    assert world.pk not in facet_index._INDEXES  # counted in SQL, nothing built
    value_facet(world, SampleFilter(), "weather", budget_ms=BUDGET)  # a panel builds it
    with monkeypatch.context() as patched:
        patched.setattr(api_count, "filter_count", None)  # SQL would fail: the index answers
        assert client.get(f"{url}?{query}").json() == {"count": expected}
    gone = filter_samples(world, SampleFilter.parse(query)).first()
    gone.delete()  # the index is stale now: SQL counts the new rows
    assert client.get(f"{url}?{query}").json() == {"count": expected - 1}


def test_the_builder_thread_reads_the_columns_while_sql_answers(world, settings):
    settings.CURATION_FACET_INDEX_BACKGROUND = True
    f = SampleFilter.parse("label=dog&min:speed=5")
    expected = _sql_panels(world, "label=dog&min:speed=5", settings)
    first = value_facet(world, f, "weather", budget_ms=BUDGET)  # queued; counted in SQL
    facet_index.facet_index_wait()
    index = facet_index._INDEXES[world.pk]
    assert {"weather", "speed", "mixed", "night"} <= set(index.keys)  # the sidebar's keys
    assert index.labels is not None and not index.pending
    assert _panels(world, "label=dog&min:speed=5") == expected
    assert (first.values, first.other, first.distinct) == expected[2 + 2 * KEYS.index("weather")]


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_an_import_stores_the_index_and_another_process_reads_it(world, settings, var_dir):
    from curation.browse.facet_index import facet_index_prepare
    from curation.datasets.services import dataset_delete

    assert facet_index_prepare(world)
    state = data_state(world)
    folder = var_dir / "facet-index" / f"dataset-{world.pk}"
    assert [p.name for p in folder.iterdir()] == [f"v{state.version}.npz"]
    facet_index.facet_index_clear()  # another process: nothing in memory
    settings.CURATION_FACET_INDEX_BACKGROUND = True  # would queue a build; the file answers
    index = facet_index.facet_index(world, state)
    assert index is not None and index.labels is not None
    assert {"weather", "speed", "mixed", "night"} <= set(index.keys)
    assert not facet_index._QUEUED and not index.pending
    assert _panels(world, "label=dog&meta:weather=rain") == _sql_panels(
        world, "label=dog&meta:weather=rain", settings
    )
    Sample.objects.filter(dataset=world).first().delete()  # a new version: the file is old
    facet_index.facet_index_clear()
    assert facet_index.facet_index(world, data_state(world)) is None  # queued, not read
    facet_index.facet_index_wait()
    assert [p.name for p in folder.iterdir()] == [f"v{data_state(world).version}.npz"]
    dataset_delete(dataset=world)
    assert not folder.exists()


def test_a_damaged_file_is_read_again_from_the_rows(world, settings, var_dir):
    from curation.browse.facet_index import facet_index_prepare

    assert facet_index_prepare(world)
    state = data_state(world)
    path = var_dir / "facet-index" / f"dataset-{world.pk}" / f"v{state.version}.npz"
    for damaged in (b"not a zip file", path.read_bytes()[:200]):  # garbage, truncated
        path.write_bytes(damaged)
        facet_index.facet_index_clear()
        index = facet_index.facet_index(world, state)  # read from the rows in the request
        assert index is not None and _panels(world, "") == _sql_panels(world, "", settings)


def test_a_score_job_stores_the_index_with_its_new_values(
    transactional_db, alice, team, settings, var_dir, api
):
    from curation.embeddings.score_metadata import score_job_execute
    from curation.selection.kernels_knn import typicality_scores
    from curation.storage.embeddings import embedding_space_load
    from tests.support.selection import populate

    settings.CURATION_FACET_INDEX_MIN_SAMPLES = 0
    settings.CURATION_FACET_INDEX_BACKGROUND = False
    facet_index.facet_index_clear()
    dataset = Dataset.objects.create(name="scored", owner=alice, team=team)
    populate(dataset, n=20)
    response = api("alice").post(
        f"/api/datasets/{dataset.pk}/metadata/typicality/",
        {"metadata_name": "typ", "num_nearest_neighbors": 5},
        format="json",
    )
    score_job_execute(job_id=response.json()["job"])
    state = data_state(dataset)
    assert (var_dir / "facet-index" / f"dataset-{dataset.pk}" / f"v{state.version}.npz").exists()
    facet_index.facet_index_clear()  # another process reads the file
    index = facet_index.facet_index(dataset, state)
    column = index.key("typ")
    loaded = embedding_space_load(dataset.embedding_spaces.get())
    expected = typicality_scores(loaded.matrix, None, 5)
    positions = np.searchsorted(index.ids, loaded.sample_ids)
    assert column.number[positions].tolist() == expected.tolist()
    facet_index.facet_index_clear()
