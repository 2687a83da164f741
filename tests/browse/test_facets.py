"""The sidebar's facets (``curation.browse.facets``): each panel's counts equal a count in Python
over the rows in the database, for the samples matching the rest of the filter."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from curation.browse import facets
from curation.browse.facet_bars import histogram_bars
from curation.browse.facets import (
    FacetTimeout,
    histogram_facet,
    label_facet,
    tag_facet,
    value_facet,
    without_labels,
    without_range,
    without_tags,
    without_values,
)
from curation.filters import SampleFilter, filter_samples
from curation.models import Annotation, Sample, Tag, TagSample

BUDGET = 60_000
FILTERS = [
    "",
    "label=cat&task=ground_truth",
    "meta:split=train",
    "min:lightly.sharpness=30&max:lightly.sharpness=90",
    "tag=train",
    "exclude_tag=odd&q=dog",
    "label=dog&meta:night=false&min:lightly.sharpness=25&tag=odd",
]


@pytest.fixture
def odd_tag(dataset, samples, alice):
    tag = Tag.objects.create(dataset=dataset, name="odd", created_by=alice)
    TagSample.objects.bulk_create([TagSample(tag=tag, sample=s) for s in samples[1::2]])
    return tag


@pytest.fixture
def world(samples, train_tag, odd_tag):
    """Two samples more with a mixed-type value and no sharpness: the odd ones out."""
    dataset = samples[0].dataset
    extra = Sample.objects.bulk_create(
        [
            Sample(dataset=dataset, file_name="dog_12.png", metadata={"split": 3}),
            Sample(dataset=dataset, file_name="dog_13.png", metadata={"split": [1, 2]}),
        ]
    )
    task = samples[0].annotations.first().task
    Annotation.objects.bulk_create(
        [  # two boxes of one class in one sample count the sample once
            Annotation(sample=extra[0], task=task, label="dog", x=1, y=1, w=2, h=2),
            Annotation(sample=extra[0], task=task, label="dog", x=5, y=5, w=2, h=2),
        ]
    )
    return dataset


def _ids(dataset, sample_filter):
    return set(filter_samples(dataset, sample_filter).values_list("pk", flat=True))


def _spelled(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return value


@pytest.mark.parametrize("query", FILTERS)
def test_tag_counts_equal_a_count_in_python(world, query):
    sample_filter = SampleFilter.parse(query)
    ids = _ids(world, without_tags(sample_filter))
    expected = Counter(
        tag
        for tag, sample in TagSample.objects.values_list("tag__name", "sample_id")
        if sample in ids
    )
    found = tag_facet(world, sample_filter, budget_ms=BUDGET)
    assert {row.tag.name: row.count for row in found.rows} == {
        "odd": expected["odd"],
        "train": expected["train"],
    }


@pytest.mark.parametrize("query", FILTERS)
def test_label_counts_equal_a_count_in_python(world, query):
    sample_filter = SampleFilter.parse(query)
    ids = _ids(world, without_labels(sample_filter))
    pairs = {
        (task, label, sample)
        for task, label, sample in Annotation.objects.values_list(
            "task__name", "label", "sample_id"
        )
        if sample in ids
    }
    expected = Counter((task, label) for task, label, _ in pairs)
    found = label_facet(world, sample_filter, budget_ms=BUDGET)
    names = [t.name for t in found.tasks]
    assert names == ["detector", "ground_truth"]
    got = {(n, row.label): c for row in found.rows for n, c in zip(names, row.counts, strict=True)}
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert [row.label for row in found.rows] == ["cat", "dog"]


@pytest.mark.parametrize("query", FILTERS)
@pytest.mark.parametrize("key", ["split", "night"])
def test_value_counts_equal_a_count_in_python(world, query, key):
    sample_filter = SampleFilter.parse(query)
    ids = _ids(world, without_values(sample_filter, key))
    expected = Counter(
        _spelled(metadata[key])
        for pk, metadata in Sample.objects.values_list("pk", "metadata")
        if pk in ids and key in metadata and not isinstance(metadata[key], list | dict)
    )
    found = value_facet(world, sample_filter, key, budget_ms=BUDGET)
    assert dict(found.values) == dict(expected)
    assert [n for _, n in found.values] == sorted(expected.values(), reverse=True)
    assert found.other == 0


def test_values_beyond_the_top_ones_are_other_but_a_checked_one_stays(world, monkeypatch):
    monkeypatch.setattr(facets, "TOP_VALUES", 1)
    found = value_facet(world, SampleFilter.parse("q=_0"), "split", budget_ms=BUDGET)
    assert found.values == [("train", 6)] and found.other == 4 and found.distinct == 2
    checked = value_facet(
        world, SampleFilter.parse("q=_0&meta:split=test"), "split", budget_ms=BUDGET
    )
    assert checked.values == [("train", 6), ("test", 4)] and checked.other == 0


def test_a_panel_leaves_out_its_own_condition_only(world):
    cats = SampleFilter.parse("label=cat&task=ground_truth&meta:split=train")
    # the split panel counts the cats (cat_00..05: 4 train, 2 test), its own value left out
    assert dict(value_facet(world, cats, "split", budget_ms=BUDGET).values) == {
        "train": 4,
        "test": 2,
    }
    # the labels panel counts the train samples of every label, not only the cats
    rows = {r.label: r.counts for r in label_facet(world, cats, budget_ms=BUDGET).rows}
    assert rows == {"cat": (8, 4), "dog": (0, 4)}  # (detector, ground_truth)


@pytest.mark.parametrize("query", FILTERS)
def test_histogram_counts_equal_a_count_in_python(world, query):
    key = "lightly.sharpness"
    sample_filter = SampleFilter.parse(query)
    ids = _ids(world, without_range(sample_filter, key))
    numbers = [
        float(m[key])
        for pk, m in Sample.objects.values_list("pk", "metadata")
        if pk in ids and isinstance(m.get(key), int | float)
    ]
    found = histogram_facet(world, sample_filter, key, budget_ms=BUDGET)
    assert (found.low, found.high) == (min(numbers), max(numbers))
    bins = facets.HISTOGRAM_BINS
    expected = [0] * bins
    for x in numbers:
        where = (
            int(bins * ((x - found.low) / (found.high - found.low)))
            if found.high > found.low
            else 0
        )
        expected[min(where, bins - 1)] += 1
    assert found.counts == expected and found.total == len(numbers)


def test_a_histogram_of_one_value_or_of_no_numbers(world):
    one = histogram_facet(
        world, SampleFilter.parse("q=cat_03"), "lightly.sharpness", budget_ms=BUDGET
    )
    assert (one.low, one.high, one.total) == (40.0, 40.0, 1) and one.counts[0] == 1
    none = histogram_facet(world, SampleFilter(), "night", budget_ms=BUDGET)  # booleans
    assert none.low is None and none.counts == [] and histogram_bars(none, None) == []


def test_the_bars_mark_the_chosen_range_and_scale_to_the_tallest(world):
    found = histogram_facet(world, SampleFilter(), "lightly.sharpness", budget_ms=BUDGET)
    bars = histogram_bars(found, (50.0, None))
    assert max(b.height for b in bars) == 40 and all(b.height >= 1 for b in bars if b.count)
    assert [b.chosen for b in bars] == [b.high >= 50.0 for b in bars]
    assert sum(b.count for b in bars) == 12


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout: PostgreSQL")
def test_a_panel_past_its_budget_raises_instead_of_guessing(world):
    with (
        pytest.raises(FacetTimeout, match=r"longer than 0\.05 s"),
        facets._budget(50),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_sleep(1)")
    assert Sample.objects.filter(dataset=world).count() == 14  # the connection still works
