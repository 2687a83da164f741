"""Browser counts are exact or an honest bound, never a planner estimate (issue 13)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from curation.browse import selectors as selectors_browse
from curation.browse.selectors import counted, result_count, result_page, sample_counts
from curation.filters import SampleFilter
from curation.models import Sample, Tag, TagSample
from curation.models.datasets import DatasetCounts

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="cursor counts and planner statistics: PostgreSQL"
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The browser caches metadata facets per dataset id; ids repeat between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def samples(dataset):
    return Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png", metadata={"v": i}) for i in range(30)]
    )


def test_small_datasets_get_exact_counts(dataset, samples):
    count = result_count(dataset, SampleFilter.parse("min:v=10"))
    assert (count.value, count.capped, count.lower_bound, count.exact) == (20, False, False, True)
    assert str(count) == "20"


def test_counts_stop_at_the_cap(dataset, samples, monkeypatch):
    monkeypatch.setattr(selectors_browse, "COUNT_CAP", 5)
    count = result_count(dataset, SampleFilter.parse("min:v=10"))
    assert count.capped and not count.exact and str(count) == "more than 5"


def test_dataset_counts_are_exact(dataset, samples, private_dataset):
    counts = sample_counts([dataset.pk, private_dataset.pk])
    assert (counts[dataset.pk].value, counts[dataset.pk].exact) == (30, True)
    assert str(counts[private_dataset.pk]) == "0"


def _bulk(dataset, n, matching):
    """``n`` rows, ``matching`` of them with v=1, inserted with no ANALYZE afterwards."""
    Sample.objects.bulk_create(
        [
            Sample(dataset=dataset, file_name=f"b{i}.png", metadata={"v": 1 if i < matching else 0})
            for i in range(n)
        ],
        batch_size=2000,
    )


def _planner_rows(qs):
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return int(plan[0]["Plan"]["Plan Rows"])


@on_postgresql
def test_stale_statistics_still_give_the_exact_count(dataset, monkeypatch):
    """The planner believes an empty, freshly analysed table; 939 of 6,000 rows match."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE curation_sample")  # statistics of an empty table
    _bulk(dataset, 6000, 939)
    monkeypatch.setattr(selectors_browse, "COUNT_TIMEOUT_MS", 10_000)
    sample_filter = SampleFilter.parse("min:v=1")
    estimate = _planner_rows(selectors_browse.filter_samples(dataset, sample_filter))
    assert abs(estimate - 939) > 300  # the estimate is far off ...
    count = result_count(dataset, sample_filter)
    assert (str(count), count.exact) == ("939", True)  # ... the count is not


@on_postgresql
def test_a_count_out_of_time_is_a_correct_lower_bound(dataset, samples):
    slow = Sample.objects.filter(dataset=dataset).extra(where=["pg_sleep(0.005) IS NOT NULL"])
    count = counted(slow, budget_ms=40)
    assert count.lower_bound and not count.exact
    assert 0 <= count.value < 30 and str(count) == f"at least {count.value:,}"
    # the budget's statement timeout does not leak into later queries
    assert (
        Sample.objects.filter(dataset=dataset)
        .extra(where=["pg_sleep(0.2) IS NOT NULL"])[:1]
        .count()
        == 1
    )


@on_postgresql
def test_a_count_out_of_time_grows_with_the_steps(dataset, monkeypatch):
    _bulk(dataset, 3000, 3000)
    slow = Sample.objects.filter(dataset=dataset).extra(where=["pg_sleep(0.0002) IS NOT NULL"])
    count = counted(slow, budget_ms=300)
    assert count.lower_bound and 32 <= count.value < 3000


def test_tag_all_on_a_bounded_count_tags_the_real_set(client, alice, dataset, monkeypatch):
    """The browser shows "more than 5" and offers Tag all; the tag gets all 939 and says so."""
    _bulk(dataset, 1200, 939)
    monkeypatch.setattr(selectors_browse, "COUNT_CAP", 5)
    client.force_login(alice)
    page = client.get(reverse("dataset-browser", args=[dataset.pk]), {"min:v": "1"})
    text = page.content.decode()
    assert "more than 5</strong> samples" in text and "Tag all (more than 5)" in text
    response = client.post(
        reverse("tag-list", args=[dataset.pk]),
        {"action": "create_filter", "name": "ones", "filter": "min:v=1"},
        follow=True,
    )
    assert "Tag &#x27;ones&#x27; created with 939 samples." in response.content.decode()
    assert TagSample.objects.filter(tag=Tag.objects.get(name="ones")).count() == 939


@on_postgresql
def test_out_of_time_the_first_page_is_the_lower_bound(dataset, monkeypatch):
    _bulk(dataset, 200, 150)
    monkeypatch.setattr(selectors_browse, "COUNT_TIMEOUT_MS", 0)  # no time to count at all
    sample_filter = SampleFilter.parse("min:v=1")
    page = result_page(dataset, sample_filter)
    count = result_count(dataset, sample_filter, page)
    assert (str(count), count.lower_bound) == ("at least 61", True)  # 60 shown + a next page


def test_a_first_page_without_a_next_page_is_the_exact_count(dataset, samples, monkeypatch):
    monkeypatch.setattr(selectors_browse, "COUNT_TIMEOUT_MS", 0)
    sample_filter = SampleFilter.parse("min:v=25")
    count = result_count(dataset, sample_filter, result_page(dataset, sample_filter))
    assert (str(count), count.exact) == ("5", True)


def _stored(dataset):
    return DatasetCounts.objects.get(dataset=dataset).samples


def test_dataset_counts_follow_every_insert_and_delete(dataset, private_dataset):
    """Triggers keep the count exact for ORM creates, bulk inserts, raw SQL and deletes."""
    assert (_stored(dataset), _stored(private_dataset)) == (0, 0)
    Sample.objects.create(dataset=dataset, file_name="one.png")
    _bulk(dataset, 500, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO curation_sample (dataset_id, file_name, width, height, size_bytes, "
            "thumbnail, metadata, created) VALUES (%s, 'raw.png', 1, 1, 1, '', '{}', %s)",
            [private_dataset.pk, "2026-01-01T00:00:00Z"],
        )
    assert (_stored(dataset), _stored(private_dataset)) == (501, 1)
    Sample.objects.filter(dataset=dataset, file_name__startswith="b1").delete()
    true = Sample.objects.filter(dataset=dataset).count()
    assert _stored(dataset) == true and str(sample_counts([dataset.pk])[dataset.pk]) == f"{true:,}"
    assert str(result_count(dataset, SampleFilter())) == f"{true:,}"
    moved = Sample.objects.filter(dataset=dataset).order_by("pk")[:3].values_list("pk", flat=True)
    Sample.objects.filter(pk__in=list(moved)).update(dataset=private_dataset)
    assert (_stored(dataset), _stored(private_dataset)) == (true - 3, 4)
    pk = private_dataset.pk
    Sample.objects.filter(dataset=private_dataset).delete()
    private_dataset.delete()
    assert not DatasetCounts.objects.filter(dataset_id=pk).exists()


def test_saving_a_dataset_does_not_touch_its_count(dataset):
    _bulk(dataset, 20, 0)
    dataset.description = "edited"
    dataset.save()
    assert _stored(dataset) == 20
