"""SQL for the filter language's metadata predicates (``meta:KEY=V``, ``min:KEY``/``max:KEY``),
written so that PostgreSQL can plan and index them at millions of samples.

Semantics (the same on PostgreSQL and SQLite, pinned by ``tests/filters``):

- ``meta:KEY=V`` matches samples whose ``metadata[KEY]`` *equals* one of the values ``V``
  spells: the string ``V`` itself, and the boolean (``true``/``false``, any case) or the finite
  number ``V`` reads as. A number equals any stored number of the same value (``3`` = ``3.0``),
  never a boolean; arrays, objects, ``null`` and missing keys never match.
- ``min:KEY=X`` / ``max:KEY=Y`` match stored *numbers* (not booleans, not strings that spell a
  number) within ``[X, Y]``.

PostgreSQL: equality is containment, ``metadata @> '{"KEY": V}'`` (served by the GIN
``jsonb_path_ops`` index of migration 0012; one ``@>`` per typed value, ORed), and a range is one
strict SQL/JSON path predicate, ``metadata @@ 'strict $."KEY" >= X && $."KEY" <= Y'``. Both
operators are estimated from the column's statistics (PostgreSQL evaluates them on its
histogram of ``metadata``), so the planner sees how many rows match instead of guessing 0.5%
and choosing a nested loop; the old ``metadata -> 'KEY' >= '10'::jsonb`` had no statistics and
compared across JSON types (booleans passed every lower bound). A key or value holding NUL
cannot be stored in ``jsonb``, so it matches nothing.

SQLite: ``json_type`` checks the stored JSON type next to ``json_extract``'s value, so ``1`` and
``true`` stay apart there too.

Every predicate is a Django expression over ``F("metadata")``, so it keeps its meaning inside
subqueries (relabelled aliases), unlike raw SQL naming the table.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.db import connection
from django.db.models import BooleanField, CharField, F, FloatField, Func, Q, Value
from django.db.models.lookups import Exact, GreaterThanOrEqual, In, LessThanOrEqual


class _PathMatch(Func):
    """``metadata @@ 'jsonpath'`` (PostgreSQL)."""

    template = "(%(expressions)s::jsonpath)"
    arg_joiner = " @@ "
    output_field = BooleanField()


class _Contains(Func):
    """``metadata @> 'json'::jsonb`` (PostgreSQL)."""

    template = "(%(expressions)s::jsonb)"
    arg_joiner = " @> "
    output_field = BooleanField()


class _JsonType(Func):
    function = "json_type"
    output_field = CharField()


class _JsonNumber(Func):
    function = "json_extract"
    output_field = FloatField()


class _JsonText(Func):
    function = "json_extract"
    output_field = CharField()


_NOTHING = Q(pk__in=[])


def typed_values(value: str) -> list[Any]:
    """What a ``meta:KEY`` value may equal: the string itself, and the boolean or number the
    text spells (metadata keeps its JSON types)."""
    lowered = value.lower()
    if lowered in {"true", "false"}:
        return [value, lowered == "true"]
    try:
        number = float(value)
    except ValueError:
        return [value]
    if not math.isfinite(number):
        return [value]
    return [value, int(number) if number.is_integer() else number]


def values_condition(key: str, values: tuple[str, ...]) -> Q:
    """``metadata[key]`` equals one of ``values`` (see the module docstring)."""
    typed = [t for value in values for t in typed_values(value)]
    if connection.vendor == "postgresql":
        if "\x00" in key:
            return _NOTHING
        condition = Q()
        for item in typed:
            if isinstance(item, str) and "\x00" in item:
                continue
            document = json.dumps({key: item}, ensure_ascii=False)
            condition |= Q(_Contains(F("metadata"), Value(document)))
        return condition or _NOTHING
    path = _sqlite_path(key)
    condition = Q()
    for item in typed:
        kind = _JsonType(F("metadata"), Value(path))
        if isinstance(item, bool):
            condition |= Q(Exact(kind, "true" if item else "false"))
        elif isinstance(item, int | float):
            value = _JsonNumber(F("metadata"), Value(path))
            condition |= Q(In(kind, ["integer", "real"])) & Q(Exact(value, float(item)))
        else:
            text = _JsonText(F("metadata"), Value(path))
            condition |= Q(Exact(kind, "text")) & Q(Exact(text, item))
    return condition


def range_condition(key: str, low: float | None, high: float | None) -> Q:
    """``low <= metadata[key] <= high`` for stored numbers (either bound may be ``None``)."""
    if low is None and high is None:
        return Q()
    if connection.vendor == "postgresql":
        if "\x00" in key:
            return _NOTHING
        field = "$." + json.dumps(key, ensure_ascii=False)
        parts = []
        if low is not None:
            parts.append(f"{field} >= {_number(low)}")
        if high is not None:
            parts.append(f"{field} <= {_number(high)}")
        return Q(_PathMatch(F("metadata"), Value("strict " + " && ".join(parts))))
    path = _sqlite_path(key)
    condition = Q(In(_JsonType(F("metadata"), Value(path)), ["integer", "real"]))
    value = _JsonNumber(F("metadata"), Value(path))
    if low is not None:
        condition &= Q(GreaterThanOrEqual(value, float(low)))
    if high is not None:
        condition &= Q(LessThanOrEqual(value, float(high)))
    return condition


def _number(number: float) -> str:
    """A finite float as a jsonpath numeric literal (Python's shortest round-trip text)."""
    text = repr(float(number))
    return f"({text})" if text.startswith("-") else text


def _sqlite_path(key: str) -> str:
    return "$." + json.dumps(key)
