import pytest
from django.db import connection

from curation import selectors_browse
from curation.models import Sample
from curation.selectors import SampleFilter
from curation.selectors_browse import counted, result_count


@pytest.fixture
def samples(dataset):
    return Sample.objects.bulk_create(
        [Sample(dataset=dataset, file_name=f"{i}.png", metadata={"v": i}) for i in range(30)]
    )


def test_small_datasets_get_exact_counts(dataset, samples):
    count = result_count(dataset, SampleFilter.parse("min:v=10"))
    assert (count.value, count.capped, count.estimated) == (20, False, False)
    assert str(count) == "20"


def test_counts_stop_at_the_cap(dataset, samples, monkeypatch):
    monkeypatch.setattr(selectors_browse, "COUNT_CAP", 5)
    count = result_count(dataset, SampleFilter.parse("min:v=10"))
    assert count.capped and str(count) == "more than 5"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement timeouts: PostgreSQL")
def test_a_slow_count_on_a_big_table_becomes_the_planner_estimate(dataset, samples, monkeypatch):
    monkeypatch.setattr(selectors_browse, "EXACT_COUNT_BELOW", 0)  # treat the table as big
    slow = Sample.objects.filter(dataset=dataset).extra(where=["pg_sleep(0.02) IS NOT NULL"])
    count = counted(slow)
    assert count.estimated
    assert str(count).startswith("about ")
