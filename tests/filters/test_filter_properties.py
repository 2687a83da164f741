"""Properties of the sample filter language (``curation.filters.SampleFilter``).

For any valid filter (tags, excluded tags, labels, task, file-name text, size bounds,
``min:``/``max:``/``meta:`` metadata keys, ``box:``/``lasso:`` map regions):

- ``parse`` reads back what every serialisation writes: the query string (``to_querystring``),
  the (key, value) pairs (``to_pairs``) and the JSON snapshot (``to_dict``, through JSON text);
- serialising is stable: a parsed query string serialises to the same text and description.

Any invalid parameter raises ``FilterError`` with one sentence that names the parameter.

The strategies build filters in the canonical form ``parse`` returns: values without
surrounding whitespace and without duplicates, sizes, ranges and values sorted by key.
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.filters import FilterError, SampleFilter

SIZE_KEYS = ("width_min", "width_max", "height_min", "height_max")
KNOWN_KEYS = ("tag", "exclude_tag", "label", "task", "q", *SIZE_KEYS)
# ordering and saved views: parsed with their own rules (tests/filters/test_similar.py,
# tests/browse/test_saved_views.py), never reported as unknown
KNOWN_KEYS += ("text", "space", "text_top", "similar_to", "similar_top", "view")
KNOWN_KEYS += ("video", "frames")  # frames of videos (tests/filters/test_video_filters.py)
IGNORED_KEYS = ("page", "after", "before", "partial", "sort", "cursor", "page_size")
IGNORED_KEYS += ("boxes", "sample")  # display state of the browser

# Any text a URL can carry (no lone surrogates: they cannot be UTF-8 encoded), as parse keeps it.
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda s: s == s.strip()
)
meta_keys = text.filter(lambda s: "__" not in s)
finite = st.floats(allow_nan=False, allow_infinity=False)


def unique(elements: st.SearchStrategy, max_size: int = 3) -> st.SearchStrategy:
    return st.lists(elements, max_size=max_size, unique=True).map(tuple)


@st.composite
def ranges(draw) -> tuple[tuple[str, float | None, float | None], ...]:
    keys = sorted(draw(st.lists(meta_keys, max_size=3, unique=True)))
    out = []
    for key in keys:
        low, high = draw(
            st.one_of(
                st.tuples(finite, st.none()),
                st.tuples(st.none(), finite),
                st.tuples(finite, finite),
            )
        )
        out.append((key, low, high))
    return tuple(out)


@st.composite
def regions(draw) -> tuple[tuple[str, str, tuple[float, ...]], ...]:
    box = st.tuples(st.just("box"), text, st.lists(finite, min_size=4, max_size=4).map(tuple))
    lasso = st.tuples(
        st.just("lasso"),
        text,
        st.integers(3, 6).flatmap(lambda n: st.lists(finite, min_size=2 * n, max_size=2 * n)),
    ).map(lambda r: (r[0], r[1], tuple(r[2])))
    return draw(st.lists(st.one_of(box, lasso), max_size=3, unique=True).map(tuple))


@st.composite
def frame_ranges(draw) -> tuple[int | None, int | None]:
    index = st.integers(0, 2**31 - 1)
    start, end = draw(
        st.one_of(st.tuples(index, st.none()), st.tuples(st.none(), index), st.tuples(index, index))
    )
    if start is not None and end is not None and start > end:
        start, end = end, start
    return (start, end)


filters = st.builds(
    SampleFilter,
    tags=unique(text),
    exclude_tags=unique(text),
    labels=unique(text),
    task=st.one_of(st.just(""), text),
    q=st.one_of(st.just(""), text),
    sizes=st.dictionaries(st.sampled_from(SIZE_KEYS), st.integers(-(10**9), 10**9)).map(
        lambda d: tuple(sorted(d.items()))
    ),
    ranges=ranges(),
    values=st.dictionaries(meta_keys, unique(text, 3).filter(bool), max_size=3).map(
        lambda d: tuple(sorted(d.items()))
    ),
    regions=regions(),
    videos=unique(text),
    frames=st.one_of(st.none(), frame_ranges()),
)


# ----------------------------------------------------------------------------- round trips


@given(filters)
def test_the_query_string_parses_back_to_the_same_filter(f: SampleFilter) -> None:
    assert SampleFilter.parse(f.to_querystring()) == f


@given(filters)
def test_the_pairs_and_the_json_snapshot_parse_back_to_the_same_filter(f: SampleFilter) -> None:
    assert SampleFilter.parse(f.to_pairs()) == f
    assert SampleFilter.parse(f.to_dict()) == f
    assert SampleFilter.parse(json.loads(json.dumps(f.to_dict()))) == f


@given(filters)
def test_serialising_is_stable(f: SampleFilter) -> None:
    text_form = f.to_querystring()
    again = SampleFilter.parse(text_form)
    assert again.to_querystring() == text_form
    assert again.to_pairs() == f.to_pairs()
    assert again.describe() == f.describe()
    assert again.is_empty == (text_form == "")


@given(filters, st.sampled_from(IGNORED_KEYS), text)
def test_paging_parameters_and_empty_values_are_ignored(f, ignored, value) -> None:
    pairs = [*f.to_pairs(), (ignored, value), ("tag", "  "), ("min:x", "")]
    assert SampleFilter.parse(pairs) == f


# ----------------------------------------------------------------------------- invalid input


def _refused(pairs: list[tuple[str, str]]) -> str:
    """The message ``parse`` refuses ``pairs`` with (the same as pairs and as a URL): one
    sentence starting "Filter parameter ..." or "Unknown filter parameter ..."."""
    with pytest.raises(FilterError) as caught:
        SampleFilter.parse(pairs)
    with pytest.raises(FilterError) as again:
        SampleFilter.parse(urlencode(pairs))
    message = str(caught.value)
    assert str(again.value) == message
    assert message.startswith(("Filter parameter ", "Unknown filter parameter "))
    assert message.endswith(".")
    return message


def _not_an_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return True
    return False


def _not_a_finite_number(value: str) -> bool:
    try:
        return not math.isfinite(float(value))
    except ValueError:
        return True


def _named(param: str, message: str) -> bool:
    return param in message or repr(param) in message


values = text  # a non-empty value (an empty one is ignored, never refused)


@given(st.sampled_from(SIZE_KEYS), values.filter(_not_an_int))
def test_a_size_bound_that_is_not_a_whole_number_is_refused(param, value) -> None:
    message = _refused([("tag", "ok"), (param, value)])
    assert _named(param, message) and "must be a whole number" in message


@given(
    st.sampled_from(("min:", "max:")),
    meta_keys,
    st.one_of(st.sampled_from(["nan", "inf", "-Infinity", "1e999"]), values),
)
def test_a_metadata_bound_that_is_not_a_finite_number_is_refused(prefix, key, value) -> None:
    if not _not_a_finite_number(value):
        value = value + "x"
    param = prefix + key
    message = _refused([(param, value)])
    assert _named(param, message) and "must be a" in message


@given(
    st.sampled_from(("min:", "max:", "meta:")),
    st.one_of(
        st.just(""),
        text.map(lambda s: s + "__" + s),
        text.map(lambda s: " " + s),
        text.map(lambda s: s + "\t"),
    ),
    st.integers(0, 100).map(str),
)
def test_a_metadata_parameter_without_a_clean_key_is_refused(prefix, key, value) -> None:
    param = prefix + key
    message = _refused([(param, value)])
    assert _named(param, message) and "needs a metadata key" in message


@given(
    st.sampled_from(("box", "lasso")),
    st.one_of(st.just(""), text.map(lambda s: " " + s)),
)
def test_a_region_without_a_space_is_refused(kind, space) -> None:
    param = f"{kind}:{space}"
    message = _refused([(param, "0,0,1,1,0,1")])
    assert _named(param, message) and "needs an embedding space" in message


@given(
    text,
    st.lists(finite, min_size=1, max_size=9).filter(lambda c: len(c) != 4),
    st.lists(finite, min_size=1, max_size=9).filter(lambda c: len(c) < 6 or len(c) % 2 == 1),
)
def test_a_region_with_the_wrong_number_of_coordinates_is_refused(space, box, lasso) -> None:
    message = _refused([(f"box:{space}", ",".join(map(repr, box)))])
    assert _named(f"box:{space}", message) and "needs four numbers" in message
    message = _refused([(f"lasso:{space}", ",".join(map(repr, lasso)))])
    assert _named(f"lasso:{space}", message) and "needs at least three x,y points" in message


@given(
    st.sampled_from(("box", "lasso")),
    text,
    st.lists(finite, min_size=5, max_size=7),
    st.one_of(
        st.sampled_from(["nan", "inf", "", "x"]),
        text.filter(lambda s: "," not in s and _not_a_finite_number(s)),
    ),
)
def test_a_region_with_a_coordinate_that_is_not_a_finite_number_is_refused(
    kind, space, coords, bad
) -> None:
    parts = [repr(c) for c in coords]
    parts[2] = bad
    param = f"{kind}:{space}"
    message = _refused([(param, ",".join(parts))])
    assert _named(param, message) and "number" in message


def _unknown(key: str) -> bool:
    return (
        key not in KNOWN_KEYS
        and key not in IGNORED_KEYS
        and not key.startswith(("min:", "max:", "meta:", "box:", "lasso:"))
    )


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12), values)
def test_an_unknown_parameter_is_refused_with_its_name(key, value) -> None:
    if not _unknown(key):
        key = "x" + key
    message = _refused([(key, value)])
    assert repr(key) in message and "Unknown filter parameter" in message


@given(st.text(max_size=12))
def test_a_frame_range_is_digits_around_one_dash_or_refused_naming_frames(value) -> None:
    shape = re.fullmatch(r"\s*(\d*)\s*-\s*(\d*)\s*|\s*(\d+)\s*", value, re.ASCII)
    if not value.strip():
        return  # an empty value is no condition
    numbers = [int(n) for n in (shape.groups() if shape else ()) if n]
    valid = bool(numbers) and numbers == sorted(numbers) and max(numbers) < 2**31
    if valid:
        assert SampleFilter.parse([("frames", value)]).frames is not None
    else:
        assert "frames=" in _refused([("frames", value)])
