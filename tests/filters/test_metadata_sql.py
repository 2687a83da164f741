"""The SQL of the metadata predicates (``curation.filter_metadata``) against a Python reference.

For random metadata (numbers, booleans, strings that spell numbers or booleans, null, arrays,
objects, missing keys) and random ``meta:``/``min:``/``max:`` filters, the database returns
exactly the samples the reference says match, on SQLite and on PostgreSQL:

- ``meta:K=V``: the stored value is the string V, or the boolean / number V spells (a number
  equals any number of the same value, never a boolean);
- ``min:K``/``max:K``: the stored value is a number (not a boolean) within the bounds.

The predicates also keep their meaning inside a subquery (a filter under a pre-selected tag).
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.filters import SampleFilter, filter_samples
from curation.models import Sample
from curation.runs.inputs import candidate_queryset
from curation.tags.services import tag_create

# SQLite's JSON paths cannot name a key holding '"' (nor could Django's key lookups before).
KEYS = ("a", "b.c", "é k") + (('q"k',) if connection.vendor == "postgresql" else ())
STORED: list[Any] = [
    0, 1, 2, -1, 3, 2.0, 0.5, -2.5, 1e-9, True, False, None,
    "1", "2.0", "x", "true", "True", "", [1], {"x": 1}, [], "MISSING",
]  # fmt: skip
TEXTS = ("0", "1", "2", "2.0", "-1", "0.5", "x", "true", "True", "false", "1e0", "")
BOUNDS = (-3.0, -2.5, -1.0, 0.0, 1e-9, 0.5, 1.0, 2.0, 2.5)


def _metadata(rng: random.Random) -> dict[str, Any]:
    out = {}
    for key in KEYS:
        value = rng.choice(STORED)
        if value != "MISSING":
            out[key] = value
    return out


@pytest.fixture
def rows(dataset) -> dict[int, dict[str, Any]]:
    rng = random.Random(13)
    created = Sample.objects.bulk_create(
        Sample(dataset=dataset, file_name=f"s{i:03d}.png", metadata=_metadata(rng))
        for i in range(160)
    )
    return {s.pk: s.metadata for s in created}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equals(stored: Any, text: str) -> bool:
    if isinstance(stored, str):
        return stored == text
    if isinstance(stored, bool):
        return text.lower() in {"true", "false"} and stored == (text.lower() == "true")
    if _is_number(stored):
        try:
            number = float(text)
        except ValueError:
            return False
        return math.isfinite(number) and stored == number
    return False


def _expected(rows: dict[int, dict[str, Any]], f: SampleFilter) -> set[int]:
    found = set()
    for pk, metadata in rows.items():
        ok = all(
            key in metadata and any(_equals(metadata[key], v) for v in values)
            for key, values in f.values
        )
        for key, low, high in f.ranges:
            value = metadata.get(key)
            ok = ok and _is_number(value)
            ok = ok and (low is None or value >= low) and (high is None or value <= high)
        if ok:
            found.add(pk)
    return found


bound = st.one_of(st.none(), st.sampled_from(BOUNDS))
ranges = st.dictionaries(st.sampled_from(KEYS), st.tuples(bound, bound), max_size=2).map(
    lambda d: tuple((k, lo, hi) for k, (lo, hi) in sorted(d.items()) if (lo, hi) != (None, None))
)
values = st.dictionaries(
    st.sampled_from(KEYS),
    st.lists(st.sampled_from([t for t in TEXTS if t]), min_size=1, max_size=3, unique=True).map(
        tuple
    ),
    max_size=2,
).map(lambda d: tuple(sorted(d.items())))
filters = st.builds(SampleFilter, ranges=ranges, values=values)
HYPOTHESIS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HYPOTHESIS
@given(f=filters)
def test_the_database_matches_the_python_reference(dataset, rows, f: SampleFilter) -> None:
    found = set(filter_samples(dataset, f).values_list("pk", flat=True))
    assert found == _expected(rows, f), f.to_querystring()


@HYPOTHESIS
@given(f=filters)
def test_the_predicates_keep_their_meaning_inside_a_subquery(dataset, rows, f) -> None:
    """``candidate_queryset`` wraps the filter in ``pk IN (subquery) OR in the tag``."""
    if f.is_empty:
        return
    picked = sorted(rows)[:5]
    tag = getattr(dataset, "_pre", None) or tag_create(
        dataset=dataset, name="pre", sample_ids=picked
    )
    dataset._pre = tag  # one tag per dataset (hypothesis reuses the fixtures)
    found = set(candidate_queryset(dataset, f, tag).values_list("pk", flat=True))
    assert found == _expected(rows, f) | set(picked), f.to_querystring()


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("meta:a=1", {"one", "one-float", "one-text"}),
        ("meta:a=true", {"yes", "yes-text"}),
        ("min:a=0.5&max:a=1", {"one", "one-float"}),
        ("max:a=100", {"one", "one-float"}),  # strings, booleans and null are not numbers
    ],
)
def test_numbers_booleans_and_strings_stay_apart(dataset, query, names) -> None:
    rows = {
        "one": {"a": 1}, "one-float": {"a": 1.0}, "one-text": {"a": "1"}, "yes": {"a": True},
        "yes-text": {"a": "true"}, "null": {"a": None}, "list": {"a": [1]}, "none": {},
    }  # fmt: skip
    Sample.objects.bulk_create(
        Sample(dataset=dataset, file_name=name, metadata=m) for name, m in rows.items()
    )
    found = filter_samples(dataset, SampleFilter.parse(query)).values_list("file_name", flat=True)
    assert set(found) == names
