"""Tag services: create, from filter (INSERT ... SELECT), add/remove, rename, delete, combine."""

from __future__ import annotations

import pytest

from curation.filters import SampleFilter
from curation.models import Sample, Tag, TagSample
from curation.tags.services import (
    TagError,
    tag_add_filter,
    tag_add_samples,
    tag_combine,
    tag_create,
    tag_create_from_filter,
    tag_delete,
    tag_remove_filter,
    tag_remove_samples,
    tag_rename,
    tag_update,
)


@pytest.fixture
def samples(dataset):
    return Sample.objects.bulk_create(
        [
            Sample(dataset=dataset, file_name=f"s{i}.png", width=10 * i, metadata={"v": i})
            for i in range(10)
        ]
    )


def members(tag):
    return sorted(TagSample.objects.filter(tag=tag).values_list("sample_id", flat=True))


def test_tag_from_filter_holds_exactly_the_matches(dataset, samples, alice):
    tag = tag_create_from_filter(
        dataset=dataset, name="big", sample_filter=SampleFilter.parse("min:v=6"), created_by=alice
    )
    assert members(tag) == [s.pk for s in samples[6:]]
    assert "v >= 6" in tag.description


def test_tag_from_filter_of_a_tag(dataset, samples):
    first = tag_create(dataset=dataset, name="first", sample_ids=[s.pk for s in samples[:3]])
    copy = tag_create_from_filter(
        dataset=dataset, name="copy", sample_filter=SampleFilter(tags=("first",))
    )
    assert members(copy) == members(first)


def test_duplicate_names_are_refused(dataset, samples):
    tag_create(dataset=dataset, name="a", sample_ids=[])
    with pytest.raises(TagError, match="already exists"):
        tag_create_from_filter(dataset=dataset, name="a", sample_filter=SampleFilter())
    b = tag_create(dataset=dataset, name="b", sample_ids=[])
    with pytest.raises(TagError, match="already exists"):
        tag_rename(tag=b, name="a")
    with pytest.raises(TagError, match="needs a name"):
        tag_rename(tag=b, name="  ")


def test_add_and_remove(dataset, samples, private_dataset):
    tag = tag_create(dataset=dataset, name="t", sample_ids=[samples[0].pk])
    assert tag_add_samples(tag=tag, sample_ids=[samples[0].pk, samples[1].pk]) == 1
    assert tag_add_filter(tag=tag, sample_filter=SampleFilter.parse("max:v=2")) == 1
    assert members(tag) == [s.pk for s in samples[:3]]
    assert tag_remove_samples(tag=tag, sample_ids=[samples[0].pk]) == 1
    assert members(tag) == [s.pk for s in samples[1:3]]
    foreign = Sample.objects.create(dataset=private_dataset, file_name="x.png")
    with pytest.raises(TagError, match="do not belong"):
        tag_add_samples(tag=tag, sample_ids=[foreign.pk])


def test_remove_by_filter_only_touches_matching_members(dataset, samples):
    tag = tag_create(dataset=dataset, name="t", sample_ids=[s.pk for s in samples[:6]])
    other = tag_create(dataset=dataset, name="o", sample_ids=[s.pk for s in samples])
    assert tag_remove_filter(tag=tag, sample_filter=SampleFilter.parse("min:v=4")) == 2
    assert members(tag) == [s.pk for s in samples[:4]]
    assert len(members(other)) == 10


def test_update_renames_and_describes(dataset, samples):
    tag = tag_create(dataset=dataset, name="t", sample_ids=[])
    tag_update(tag=tag, description="why")
    tag_update(tag=tag, name="u")
    tag.refresh_from_db()
    assert (tag.name, tag.description) == ("u", "why")


def test_rename_and_delete(dataset, samples):
    tag = tag_create(dataset=dataset, name="old", sample_ids=[s.pk for s in samples])
    assert tag_rename(tag=tag, name=" new ").name == "new"
    tag_delete(tag=tag)
    assert not Tag.objects.filter(dataset=dataset).exists()
    assert not TagSample.objects.exists()
    assert Sample.objects.filter(dataset=dataset).count() == 10


@pytest.mark.parametrize(
    ("operation", "expected"),
    [("union", [0, 1, 2, 3, 4]), ("intersection", [2]), ("difference", [0, 1])],
)
def test_combine(dataset, samples, operation, expected):
    a = tag_create(dataset=dataset, name="a", sample_ids=[s.pk for s in samples[0:3]])
    b = tag_create(dataset=dataset, name="b", sample_ids=[s.pk for s in samples[2:5]])
    c = tag_combine(dataset=dataset, name="c", operation=operation, tags=[a, b])
    assert members(c) == [samples[i].pk for i in expected]


def test_combine_needs_two_tags_and_a_known_operation(dataset, samples):
    a = tag_create(dataset=dataset, name="a", sample_ids=[])
    with pytest.raises(TagError, match="at least two"):
        tag_combine(dataset=dataset, name="c", operation="union", tags=[a])
    with pytest.raises(TagError, match="Unknown operation"):
        tag_combine(dataset=dataset, name="c", operation="xor", tags=[a, a])
