"""Exact filter results stored under the dataset's data version (``browse.filter_cache``) and
the triggers that keep the version (migration 0017): every write of samples, annotations or
tag memberships changes the answer at once; nothing is stored by a transaction that wrote."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse

from curation.browse.filter_cache import data_state, filter_count
from curation.browse.maps import projection_binary
from curation.filters import FilterError, SampleFilter
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample
from tests.browse.test_map import unpack

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the data version is kept by PostgreSQL triggers"
)

FILTERS = [
    "",
    "label=cat&task=ground_truth",
    "meta:weather=rain",
    "min:speed=10&max:speed=60",
    "label=cat&task=ground_truth&meta:weather=rain&min:speed=10&max:speed=60",
    "tag=train",
    "exclude_tag=train&label=dog",
]


def _world(dataset: Dataset) -> None:
    """12 samples: weather cycles rain/sun/snow, speed = 7 * i, label cat for even i, tag
    train for i % 3 == 0."""
    samples = Sample.objects.bulk_create(
        Sample(
            dataset=dataset,
            file_name=f"{i}.jpg",
            metadata={"weather": ["rain", "sun", "snow"][i % 3], "speed": 7 * i},
        )
        for i in range(12)
    )
    task = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="classification"
    )
    Annotation.objects.bulk_create(
        Annotation(sample=s, task=task, label="cat" if i % 2 == 0 else "dog")
        for i, s in enumerate(samples)
    )
    tag = Tag.objects.create(dataset=dataset, name="train")
    TagSample.objects.bulk_create(
        TagSample(tag=tag, sample=s) for i, s in enumerate(samples) if i % 3 == 0
    )


def _python_count(dataset: Dataset, query: str) -> int:
    """The same filter evaluated in Python over every sample."""
    f = SampleFilter.parse(query)
    found = 0
    for sample in Sample.objects.filter(dataset=dataset).prefetch_related(
        "annotations__task", "tags"
    ):
        labels = {
            a.label for a in sample.annotations.all() if a.task.name == (f.task or a.task.name)
        }
        tags = {t.name for t in sample.tags.all()}
        meta = sample.metadata
        ok = (not f.labels or bool(labels & set(f.labels))) and (
            not f.tags or bool(tags & set(f.tags))
        )
        ok = ok and not (tags & set(f.exclude_tags))
        ok = ok and all(meta.get(key) in values for key, values in f.values)
        for key, low, high in f.ranges:
            value = meta.get(key)
            ok = ok and isinstance(value, int | float)
            ok = ok and (low is None or value >= low) and (high is None or value <= high)
        found += ok
    return found


@pytest.mark.parametrize("query", FILTERS)
def test_the_count_is_the_python_count(dataset, query):
    _world(dataset)
    assert filter_count(dataset, SampleFilter.parse(query)) == _python_count(dataset, query)


def test_an_unknown_tag_is_refused(dataset):
    _world(dataset)
    with pytest.raises(FilterError, match="No tag named 'nope'"):
        filter_count(dataset, SampleFilter.parse("tag=nope"))


def test_nothing_is_stored_on_sqlite_or_after_writing_in_the_transaction(dataset):
    _world(dataset)  # this test's transaction has written: never cacheable
    state = data_state(dataset)
    assert state is not None and state.samples == 12 and not state.cacheable
    filter_count(dataset, SampleFilter.parse("meta:weather=rain"))
    assert not cache._cache  # type: ignore[attr-defined]  (LocMemCache: nothing stored)


@pytest.fixture
def committed(transactional_db, alice, team):
    dataset = Dataset.objects.create(name="cats", owner=alice, team=team)
    _world(dataset)
    return dataset


@postgresql
def test_every_write_statement_grows_its_version(committed):
    def versions() -> tuple[int, int]:
        state = data_state(committed)
        assert state is not None
        return state.version, state.tag_version

    sample = Sample.objects.filter(dataset=committed).first()
    tag = Tag.objects.get(dataset=committed)
    rows = [  # samples and annotations grow ``version``, memberships ``tag_version``
        (lambda: Sample.objects.create(dataset=committed, file_name="new.jpg"), 0),
        (lambda: Sample.objects.filter(pk=sample.pk).update(metadata={"weather": "fog"}), 0),
        (lambda: Annotation.objects.filter(sample=sample).update(label="bird"), 0),
        (lambda: TagSample.objects.filter(tag=tag).delete(), 1),
        (lambda: TagSample.objects.create(tag=tag, sample=sample), 1),
        (lambda: Annotation.objects.filter(sample=sample).delete(), 0),
        (lambda: Sample.objects.filter(file_name="new.jpg").delete(), 0),
    ]
    for write, which in rows:
        before = versions()
        write()
        after = versions()
        assert after[which] > before[which]
        assert after[1 - which] == before[1 - which]
    assert data_state(committed).cacheable  # outside a writing transaction


@postgresql
def test_tagging_keeps_stored_results_of_filters_without_tags(committed):
    plain = SampleFilter.parse("meta:weather=rain")
    tagged = SampleFilter.parse("tag=train")
    assert filter_count(committed, plain) == 4
    before = filter_count(committed, tagged)
    stored = len(cache._cache)  # type: ignore[attr-defined]
    sample = Sample.objects.filter(dataset=committed).exclude(tags__name="train").first()
    TagSample.objects.create(tag=Tag.objects.get(dataset=committed), sample=sample)
    assert filter_count(committed, plain) == 4
    assert len(cache._cache) == stored  # type: ignore[attr-defined]  (read, not recomputed)
    assert filter_count(committed, tagged) == before + 1  # recomputed under the new tag version
    assert len(cache._cache) == stored + 1  # type: ignore[attr-defined]


@postgresql
@pytest.mark.parametrize("query", FILTERS[1:])
def test_a_stored_count_is_replaced_after_each_kind_of_write(committed, query):
    f = SampleFilter.parse(query)
    sample = Sample.objects.filter(dataset=committed, file_name="0.jpg").get()
    tag = Tag.objects.get(dataset=committed)
    writes = [
        lambda: Sample.objects.filter(pk=sample.pk).update(metadata={"weather": "sun", "speed": 1}),
        lambda: Annotation.objects.filter(sample=sample).update(label="dog"),
        lambda: TagSample.objects.filter(tag=tag, sample=sample).delete(),
        lambda: Sample.objects.create(
            dataset=committed, file_name="x.jpg", metadata={"weather": "rain", "speed": 20}
        ),
        lambda: TagSample.objects.create(tag=tag, sample=Sample.objects.get(file_name="x.jpg")),
        lambda: Annotation.objects.create(
            sample=Sample.objects.get(file_name="x.jpg"),
            task=AnnotationTask.objects.get(dataset=committed),
            label="cat",
        ),
        lambda: Sample.objects.filter(file_name__in=["3.jpg", "4.jpg"]).delete(),
    ]
    assert filter_count(committed, f) == _python_count(committed, query)
    assert cache._cache  # type: ignore[attr-defined]  (stored)
    for write in writes:
        write()
        assert filter_count(committed, f) == _python_count(committed, query)


@postgresql
def test_a_transaction_that_wrote_neither_reads_nor_stores(committed):
    f = SampleFilter.parse("meta:weather=rain")
    assert filter_count(committed, f) == 4  # stored
    with transaction.atomic():
        Sample.objects.create(dataset=committed, file_name="r.jpg", metadata={"weather": "rain"})
        assert filter_count(committed, f) == 5  # its own write, not the stored 4
        stored = len(cache._cache)  # type: ignore[attr-defined]
        transaction.set_rollback(True)
    assert len(cache._cache) == stored == 1  # type: ignore[attr-defined]
    assert filter_count(committed, f) == 4


@postgresql
def test_a_renamed_tag_is_not_answered_from_the_store(committed):
    assert filter_count(committed, SampleFilter.parse("tag=train")) == 4
    Tag.objects.filter(dataset=committed, name="train").update(name="old")
    Tag.objects.create(dataset=committed, name="train")  # empty, same name
    assert filter_count(committed, SampleFilter.parse("tag=train")) == 0
    assert filter_count(committed, SampleFilter.parse("tag=old")) == 4


@postgresql
def test_the_api_count_follows_a_write(committed, api, alice):
    url = f"/api/datasets/{committed.pk}/samples/count/"
    query = {"meta:weather": "rain", "label": "cat", "task": "ground_truth"}
    assert api("alice").get(url, query).json() == {"count": 2}
    assert api("alice").get(url, query).json() == {"count": 2}  # from the store
    Annotation.objects.filter(sample__file_name="3.jpg").update(label="cat")
    assert api("alice").get(url, query).json() == {"count": 3}
    assert api("charlie").get(url, query).status_code == 404


@postgresql
def test_the_map_mask_follows_a_write(transactional_db, client, alice, dataset, samples, space):
    client.force_login(alice)
    url = reverse("map-mask", args=[dataset.pk]) + "?space=default&tag=picked&highlight=picked"
    tag = Tag.objects.create(dataset=dataset, name="picked")
    TagSample.objects.create(tag=tag, sample=samples[0])
    first = client.get(url).json()
    assert first["matching"] == 1 and client.get(url).json() == first  # the second: stored
    TagSample.objects.create(tag=tag, sample=samples[5])
    second = client.get(url).json()
    ids = np.frombuffer(projection_binary(space=space).data, "<u4", len(samples), 16)
    marked = unpack(second["filter_mask"], len(samples)).astype(bool)
    assert second["matching"] == 2 and sorted(ids[marked]) == sorted([samples[0].pk, samples[5].pk])
    assert second["tag_mask"] == second["filter_mask"]
