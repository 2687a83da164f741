"""``matching_ids``: the ids of a queryset as an int64 array (binary ``COPY`` on PostgreSQL),
the same set as the ORM returns, for samples and for a tag's members; empty stays empty."""

from __future__ import annotations

import numpy as np

from curation.browse.selectors import matching_ids
from curation.filters import SampleFilter, filter_samples
from curation.models import Sample
from curation.tags.services import tag_create


def test_the_ids_are_those_the_orm_returns(dataset):
    samples = Sample.objects.bulk_create(
        Sample(dataset=dataset, file_name=f"{i}.png", metadata={"v": i % 7}) for i in range(300)
    )
    matched = filter_samples(dataset, SampleFilter.parse("min:v=2&max:v=4"))
    ids = matching_ids(matched)
    assert ids.dtype == np.int64
    assert sorted(ids.tolist()) == sorted(matched.values_list("pk", flat=True))
    assert len(ids) == sum(1 for s in samples if 2 <= s.metadata["v"] <= 4)
    tag = tag_create(dataset=dataset, name="odd", sample_ids=[s.pk for s in samples[1::2]])
    members = matching_ids(tag.memberships.all(), "sample_id")
    assert sorted(members.tolist()) == [s.pk for s in samples[1::2]]


def test_nothing_matching_is_an_empty_array(dataset):
    ids = matching_ids(filter_samples(dataset, SampleFilter.parse("meta:v=nothing")))
    assert ids.dtype == np.int64 and len(ids) == 0
