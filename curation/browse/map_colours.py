"""Colour-by for the embedding map: one small value per map point, in the points binary's row
order, for the field the user picks. Reads only.

Fields (the map page's ``colour=`` value):

``label:TASK``   the sample's class in ground truth or a prediction task (categorical)
``tag:NAME``     membership of a tag (two categories: in / not in)
``number:KEY``   a numeric metadata key (continuous scale, ``low``..``high``)
``string:KEY``   a string or boolean metadata key (categorical)

Categorical fields send the ``MAX_CATEGORIES`` most frequent values, each with the colour of
``overlays.class_colour`` (a class has the same colour as its boxes on every page), plus one
``other`` for the rest; a sample with several labels (detections) takes the one that is most
frequent in the task. Values go out as ``uint8`` codes (``MISSING_CODE``: no value), numbers as
``uint16`` steps of ``(high - low) / 65534`` (``MISSING_NUMBER``: no value).

Speed at 1M points: one aggregate query for the top values, then ONE streamed query that
returns ``sample_id * CODE_SHIFT + code`` as a single bigint (the category is a SQL ``CASE``), so
no Python object per row: on PostgreSQL it arrives as binary ``COPY`` straight into numpy
(``selectors.matching_ids``). Numbers stream as (bigint, float8) binary ``COPY`` rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connections
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Value,
)
from django.db.models.lookups import In

from curation.browse.overlays import class_colour
from curation.browse.selectors import annotation_tasks, matching_ids, metadata_fields
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag
from curation.selection.kernels_align import RowIndex

MAX_CATEGORIES = 20
MISSING_CODE = 255
MISSING_NUMBER = 65_535
CODE_SHIFT = 256  # sample_id * CODE_SHIFT + code in one bigint (ids < 2**32, see projections)
OTHER_COLOUR = "hsl(230, 8%, 58%)"
NOT_IN_TAG_COLOUR = "hsl(230, 10%, 82%)"
KINDS = ("label", "tag", "number", "string")


class ColourError(ValueError):
    """A colour field that cannot be shown; the message is one sentence for the user."""


@dataclass(frozen=True)
class Category:
    name: str
    colour: str
    count: int = 0


@dataclass
class ColourValues:
    """The values of one field over the map's points (``values`` is row-aligned)."""

    key: str  # the field as asked for, e.g. "label:ground_truth"
    kind: str  # "category" or "number"
    values: np.ndarray  # uint8 codes or uint16 steps
    categories: list[Category] = field(default_factory=list)
    low: float | None = None
    high: float | None = None
    missing: int = 0


@dataclass(frozen=True)
class ColourChoice:
    value: str
    label: str


def colour_choices(dataset: Dataset) -> list[tuple[str, list[ColourChoice]]]:
    """The page's colour-by options, grouped: labels of each task, tags, metadata keys."""
    tasks = [
        ColourChoice(f"label:{t.name}", "ground-truth label" if not t.is_prediction else t.name)
        for t in sorted(annotation_tasks(dataset), key=lambda t: (t.is_prediction, t.name))
    ]
    names = Tag.objects.filter(dataset=dataset).order_by("name").values_list("name", flat=True)
    tags = [ColourChoice(f"tag:{name}", f"in tag {name}") for name in names]
    fields = metadata_fields(dataset)
    numbers = [ColourChoice(f"number:{f.key}", f.key) for f in fields if f.kind == "number"]
    strings = [ColourChoice(f"string:{f.key}", f.key) for f in fields if f.kind != "number"]
    groups = [
        ("Labels", tasks),
        ("Tag membership", tags),
        ("Numeric metadata", numbers),
        ("Text metadata", strings),
    ]
    return [(name, choices) for name, choices in groups if choices]


def colour_parse(raw: str) -> tuple[str, str]:
    """``KIND:NAME`` of a colour field, or ``ColourError``."""
    kind, _, name = raw.partition(":")
    if kind not in KINDS or not name:
        raise ColourError(
            f"Colour by {raw!r} is not a field: use label:TASK, tag:NAME, number:KEY or string:KEY."
        )
    return kind, name


def colour_values(*, dataset: Dataset, row_ids: np.ndarray, raw: str) -> ColourValues:
    """The values of field ``raw`` for the map points ``row_ids`` (see the module docstring)."""
    kind, name = colour_parse(raw)
    index = RowIndex(row_ids)
    if kind == "tag":
        return _tag_values(dataset, index, raw, name)
    if kind == "number":
        return _number_values(dataset, index, raw, name)
    if kind == "label":
        task = AnnotationTask.objects.filter(dataset=dataset, name=name).first()
        if task is None:
            raise ColourError(f"No task named {name!r} in dataset {dataset.name!r}.")
        rows: QuerySet[Any] = Annotation.objects.filter(task=task)
        return _category_values(index, raw, rows, F("label"), "sample_id")
    text = _meta_text(name)
    samples = Sample.objects.filter(dataset=dataset).filter(_meta_is_text(name))
    return _category_values(index, raw, samples, text, "pk")


def _tag_values(dataset: Dataset, index: RowIndex, raw: str, name: str) -> ColourValues:
    tag = Tag.objects.filter(dataset=dataset, name=name).first()
    if tag is None:
        raise ColourError(f"No tag named {name!r} in dataset {dataset.name!r}.")
    inside = index.mask(matching_ids(tag.memberships.all(), "sample_id"))
    codes = np.where(inside, 0, 1).astype(np.uint8)
    count = int(inside.sum())
    categories = [
        Category(f"in {name}", class_colour(name), count),
        Category(f"not in {name}", NOT_IN_TAG_COLOUR, len(codes) - count),
    ]
    return ColourValues(key=raw, kind="category", values=codes, categories=categories)


def _category_values(
    index: RowIndex, raw: str, rows: QuerySet[Any], text: Any, id_column: str
) -> ColourValues:
    """Codes of the most frequent values of ``text`` over ``rows`` (two queries)."""
    top = list(
        rows.annotate(colour_value=text)
        .order_by()
        .values_list("colour_value")
        .annotate(n=Count("pk"))
        .order_by("-n", "colour_value")
        .values_list("colour_value", flat=True)[: MAX_CATEGORIES + 1]
    )
    names = [str(v) for v in top[:MAX_CATEGORIES]]
    other = len(names)
    code = _SimpleCase(text, [(Value(v), Value(i)) for i, v in enumerate(names)], Value(other))
    keyed = rows.annotate(
        colour_key=ExpressionWrapper(
            F(id_column) * CODE_SHIFT + code, output_field=BigIntegerField()
        )
    )
    packed = matching_ids(keyed, "colour_key") if names else np.zeros(0, np.int64)
    values = np.full(len(index.ids), MISSING_CODE, dtype=np.uint8)
    if len(packed):
        found_rows, found = index.find(packed // CODE_SHIFT)
        np.minimum.at(values, found_rows[found], (packed[found] % CODE_SHIFT).astype(np.uint8))
    counts = np.bincount(values, minlength=256)
    categories = [Category(n, class_colour(n), int(counts[i])) for i, n in enumerate(names)]
    if counts[other]:
        categories.append(Category("other", OTHER_COLOUR, int(counts[other])))
    return ColourValues(
        key=raw,
        kind="category",
        values=values,
        categories=categories,
        missing=int(counts[MISSING_CODE]),
    )


def _number_values(dataset: Dataset, index: RowIndex, raw: str, key: str) -> ColourValues:
    samples = Sample.objects.filter(dataset=dataset).filter(_meta_is_number(key))
    ids, numbers = _id_number_pairs(samples.annotate(colour_number=_meta_number(key)))
    rows, found = index.find(ids)
    rows, numbers = rows[found], numbers[found]
    values = np.full(len(index.ids), MISSING_NUMBER, dtype=np.uint16)
    low = high = None
    if len(numbers):
        low, high = float(numbers.min()), float(numbers.max())
        span = (high - low) or 1.0
        values[rows] = np.rint((numbers - low) / span * (MISSING_NUMBER - 1)).astype(np.uint16)
    missing = int((values == MISSING_NUMBER).sum())
    return ColourValues(key=raw, kind="number", values=values, low=low, high=high, missing=missing)


_PAIR_ROW = np.dtype(
    [("fields", ">i2"), ("s1", ">i4"), ("id", ">i8"), ("s2", ">i4"), ("value", ">f8")]
)
_COPY_HEADER = 19  # PGCOPY signature, flags and header extension length


def _id_number_pairs(qs: QuerySet[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(pk, colour_number) of every row as int64 and float64 arrays, streamed on PostgreSQL as
    binary ``COPY`` (fixed-size rows: the query only has numbers, never NULL)."""
    query = qs.order_by().values_list("pk", "colour_number")
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        pairs = np.array(list(query), dtype=np.float64).reshape(-1, 2)
        return pairs[:, 0].astype(np.int64), pairs[:, 1]
    sql, params = query.query.sql_with_params()
    copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT binary)"
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql, params) as copy:
        data = b"".join(bytes(block) for block in copy)
    rows = np.frombuffer(data[_COPY_HEADER:-2], dtype=_PAIR_ROW)
    if len(rows) and (np.any(rows["s1"] != 8) or np.any(rows["s2"] != 8)):
        raise ValueError("COPY did not return one bigint and one float8 per row.")
    finite = np.isfinite(rows["value"])
    return rows["id"][finite].astype(np.int64), rows["value"][finite].astype(np.float64)


# --- metadata expressions (PostgreSQL jsonb / SQLite JSON1), keys taken literally -----------


class _JsonbField(Func):
    """``metadata -> 'KEY'`` (PostgreSQL)."""

    template = "(%(expressions)s)"
    arg_joiner = " -> "


class _JsonbText(Func):
    """``metadata ->> 'KEY'`` (PostgreSQL)."""

    template = "(%(expressions)s)"
    arg_joiner = " ->> "
    output_field = CharField()


class _Function(Func):
    def __init__(self, name: str, *expressions: Any, output_field: Any) -> None:
        self.function = name
        super().__init__(*expressions, output_field=output_field)


class _SimpleCase(Func):
    """``CASE operand WHEN a THEN x … ELSE d END``: the operand (a JSON lookup) is computed once
    per row, where Django's ``Case(When(...))`` repeats it in every branch."""

    def __init__(
        self, operand: Any, pairs: list[tuple[Any, Any]], default: Any, output_field: Any = None
    ) -> None:
        flat = [e for pair in pairs for e in pair]
        super().__init__(operand, *flat, default, output_field=output_field or BigIntegerField())

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        parts: list[str] = []
        params: list[Any] = []
        for expression in self.get_source_expressions():
            sql, found = compiler.compile(expression)
            parts.append(sql)
            params.extend(found)
        operand, *flat, default = parts
        whens = " ".join(f"WHEN {a} THEN {b}" for a, b in zip(flat[::2], flat[1::2], strict=True))
        return f"CASE {operand} {whens} ELSE {default} END", tuple(params)


class _Cast8(Func):
    template = "CAST(%(expressions)s AS double precision)"
    output_field = FloatField()


def _postgres() -> bool:
    return connections["default"].vendor == "postgresql"


def _path(key: str) -> Value:
    return Value("$." + json.dumps(key))


def _json_type(key: str) -> Any:
    if _postgres():
        return _Function(
            "jsonb_typeof", _JsonbField(F("metadata"), Value(key)), output_field=CharField()
        )
    return _Function("json_type", F("metadata"), _path(key), output_field=CharField())


def _meta_is_number(key: str) -> Q:
    kinds = ["number"] if _postgres() else ["integer", "real"]
    return Q(In(_json_type(key), kinds))


def _meta_is_text(key: str) -> Q:
    kinds = ["string", "boolean"] if _postgres() else ["text", "true", "false"]
    return Q(In(_json_type(key), kinds))


def _meta_number(key: str) -> Any:
    if _postgres():
        return _Cast8(_JsonbText(F("metadata"), Value(key)))
    return _Function("json_extract", F("metadata"), _path(key), output_field=FloatField())


def _meta_text(key: str) -> Any:
    """The value as text; booleans read ``true``/``false`` on both databases."""
    if _postgres():
        return _JsonbText(F("metadata"), Value(key))
    text = _Function("json_extract", F("metadata"), _path(key), output_field=CharField())
    pairs = [(Value("true"), Value("true")), (Value("false"), Value("false"))]
    return _SimpleCase(_json_type(key), pairs, text, output_field=CharField())
