"""Field expressions (``ImageSampleField.width >= 1920``, ``SampleField.tags.contains("x")``,
``SampleField.metadata["weather.description"] == "sunny"``) and their compilation to the
filter language (``curation.filters``: the browser's URL query string).

One filter language everywhere: an expression becomes query parameters, the server filters.
Whatever the language cannot express is a ``QueryError`` naming the expression, never a
filter applied silently on the client. What it can express:

- ``&`` of any conditions; repeated bounds on one field intersect;
- ``|`` of conditions of one kind the language lists: tags (``tag=a&tag=b``), labels, values
  of one metadata key (``meta:KEY=a&meta:KEY=b``);
- ``~`` of a tag condition or of a ``|`` of them (``exclude_tag``).

Sizes are whole pixels, so ``width > 1920`` is ``width_min=1921``; a strict metadata bound
``x > v`` is ``min:KEY=<the next float after v>`` (exact for the float64 values metadata holds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from curation.client.errors import QueryError

Pairs = list[tuple[str, str]]


class Expr:
    """A boolean condition on samples; combine with ``&``, ``|`` and ``~``."""

    def __and__(self, other: Expr) -> Expr:
        return And((self, _expr(other)))

    def __or__(self, other: Expr) -> Expr:
        return Or((self, _expr(other)))

    def __invert__(self) -> Expr:
        return Not(self)

    def __bool__(self) -> bool:
        raise QueryError(
            "A field expression has no truth value: combine conditions with &, | and ~ "
            "(not and/or/not), and compare one field at a time (a <= x & x <= b)."
        )


def _expr(value: Any) -> Expr:
    if not isinstance(value, Expr):
        raise QueryError(f"{value!r} is not a field expression: use e.g. SampleField.width >= 10.")
    return value


@dataclass(frozen=True, eq=False)
class Cond(Expr):
    """One condition: ``kind`` in size, tag, label, name, range, value."""

    kind: str
    key: str
    op: str
    value: Any
    task: str = ""

    def __repr__(self) -> str:
        field = {"tag": "tags", "label": "labels", "name": "file_name"}.get(self.kind, self.key)
        if self.kind in ("range", "value"):
            field = f"metadata[{self.key!r}]"
        if self.op == "contains":
            return f"{field}.contains({self.value!r})"
        return f"{field} {self.op} {self.value!r}"


@dataclass(frozen=True, eq=False)
class And(Expr):
    parts: tuple[Expr, ...]

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


@dataclass(frozen=True, eq=False)
class Or(Expr):
    parts: tuple[Expr, ...]

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"


@dataclass(frozen=True, eq=False)
class Not(Expr):
    part: Expr

    def __repr__(self) -> str:
        return f"~{self.part!r}"


# ----------------------------------------------------------------------------- fields


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QueryError(f"{what} compares with a finite number, not {value!r}.")
    return float(value)


class _Comparable:
    kind = "range"

    def __init__(self, key: str):
        self.key = key

    def _cond(self, op: str, value: Any) -> Cond:
        _number(value, repr(self))
        return Cond(self.kind, self.key, op, value)

    def __ge__(self, value: Any) -> Cond:
        return self._cond(">=", value)

    def __gt__(self, value: Any) -> Cond:
        return self._cond(">", value)

    def __le__(self, value: Any) -> Cond:
        return self._cond("<=", value)

    def __lt__(self, value: Any) -> Cond:
        return self._cond("<", value)

    def __ne__(self, value: Any) -> Cond:  # type: ignore[override]
        raise QueryError(
            f"{self!r} != {value!r}: the filter language has no 'not equal' for this field; "
            "use two bounds or a tag."
        )

    __hash__ = None  # type: ignore[assignment]


class SizeField(_Comparable):
    """``width`` / ``height`` in pixels."""

    kind = "size"

    def __repr__(self) -> str:
        return self.key

    def __eq__(self, value: Any) -> Cond:  # type: ignore[override]
        return self._cond("==", value)


class MetadataField(_Comparable):
    """``SampleField.metadata["key"]``: numeric bounds, or equality with a value."""

    def __repr__(self) -> str:
        return f"metadata[{self.key!r}]"

    def __eq__(self, value: Any) -> Cond:  # type: ignore[override]
        if isinstance(value, bool | str) or (
            isinstance(value, int | float) and math.isfinite(value)
        ):
            return Cond("value", self.key, "==", value)
        raise QueryError(f"{self!r} == {value!r}: compare with a string, number or boolean.")


class _Metadata:
    def __getitem__(self, key: str) -> MetadataField:
        if not isinstance(key, str) or not key.strip() or "__" in key:
            raise QueryError(f"{key!r} is not a metadata key (e.g. 'weather.description').")
        return MetadataField(key)

    def __repr__(self) -> str:
        return "metadata"


class _Tags:
    def contains(self, name: str) -> Cond:
        if not isinstance(name, str) or not name.strip():
            raise QueryError("tags.contains() takes a tag name.")
        return Cond("tag", "tag", "contains", name.strip())

    def __repr__(self) -> str:
        return "tags"


class _Labels:
    def contains(self, label: str, task: str = "") -> Cond:
        """Samples with an annotation labelled ``label`` (of ``task``, if given)."""
        if not isinstance(label, str) or not label:
            raise QueryError("labels.contains() takes a label.")
        return Cond("label", "label", "contains", label, task=task)

    def __repr__(self) -> str:
        return "labels"


class _FileName:
    def contains(self, text: str) -> Cond:
        """File name contains ``text`` (case-insensitive)."""
        if not isinstance(text, str) or not text:
            raise QueryError("file_name.contains() takes some text.")
        return Cond("name", "q", "contains", text)

    def __eq__(self, value: Any) -> Cond:  # type: ignore[override]
        raise QueryError(
            f"file_name == {value!r}: the filter language matches file names by substring; use "
            "SampleField.file_name.contains(...)."
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "file_name"


class SampleField:
    """The fields of a sample a query can match on (LightlyStudio's ``SampleField``)."""

    width = SizeField("width")
    height = SizeField("height")
    file_name = _FileName()
    tags = _Tags()
    labels = _Labels()
    metadata = _Metadata()


class ImageSampleField(SampleField):
    """The fields of an image sample (LightlyStudio's ``ImageSampleField``)."""


# ----------------------------------------------------------------------------- compile


class _Filter:
    """The filter being built: one slot per parameter of the language."""

    def __init__(self) -> None:
        self.tags: list[str] | None = None
        self.exclude: list[str] = []
        self.labels: list[str] | None = None
        self.task = ""
        self.q = ""
        self.sizes: dict[str, float] = {}
        self.mins: dict[str, float] = {}
        self.maxs: dict[str, float] = {}
        self.values: dict[str, list[Any]] = {}
        self.extra: Pairs = []  # from expressions that give their own pairs (``TextSearch``)

    def pairs(self) -> Pairs:
        out: Pairs = [("tag", t) for t in self.tags or []]
        out += [("exclude_tag", t) for t in self.exclude]
        out += [("label", label) for label in self.labels or []]
        if self.task:
            out.append(("task", self.task))
        if self.q:
            out.append(("q", self.q))
        out += [(k, str(int(v))) for k, v in sorted(self.sizes.items())]
        out += [(f"min:{k}", repr(v)) for k, v in sorted(self.mins.items())]
        out += [(f"max:{k}", repr(v)) for k, v in sorted(self.maxs.items())]
        for key, values in sorted(self.values.items()):
            out += [(f"meta:{key}", _text(v)) for v in values]
        out += self.extra
        return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cannot(expr: Expr, why: str) -> QueryError:
    return QueryError(f"The filter language cannot express {expr!r}: {why}")


def compile_expr(expr: Expr | None) -> Pairs:
    """The filter-language parameters of ``expr`` (``[]`` for None: every sample)."""
    built = _Filter()
    if expr is not None:
        _add(built, _expr(expr), expr)
    return built.pairs()


def _add(f: _Filter, expr: Expr, whole: Expr) -> None:
    if isinstance(expr, And):
        for part in expr.parts:
            _add(f, part, whole)
    elif isinstance(expr, Or):
        _add_or(f, _flatten_or(expr), expr)
    elif isinstance(expr, Not):
        _add_not(f, expr)
    elif isinstance(expr, Cond):
        if expr.kind in ("tag", "label", "value"):
            _add_or(f, [expr], expr)
        else:
            _add_bound(f, expr)
    elif callable(own := getattr(expr, "filter_pairs", None)):  # client.embeddings.TextSearch
        if f.extra:
            raise _cannot(whole, "one text search per filter.")
        f.extra = list(own())
    else:
        raise _cannot(whole, "unknown expression.")


def _flatten_or(expr: Expr) -> list[Cond]:
    if isinstance(expr, Or):
        return [c for part in expr.parts for c in _flatten_or(part)]
    if isinstance(expr, Cond):
        return [expr]
    raise _cannot(expr, "'|' joins simple conditions of one kind (tags, labels, one metadata key).")


def _add_or(f: _Filter, conds: list[Cond], expr: Expr) -> None:
    kinds = {(c.kind, c.key, c.task) for c in conds}
    if len(kinds) != 1:
        raise _cannot(
            expr,
            "'|' joins conditions of one kind only (tags, labels, or values of one metadata key).",
        )
    kind, key, task = kinds.pop()
    values = list(dict.fromkeys(c.value for c in conds))
    if kind == "tag":
        if f.tags is not None and f.tags != values:
            raise _cannot(
                expr,
                "a sample in every one of several tags (tags are matched with "
                "'any of'); combine the tags into one first (tags_combine).",
            )
        f.tags = values
    elif kind == "label":
        if (f.labels is not None and f.labels != values) or (f.task and task and f.task != task):
            raise _cannot(expr, "labels are matched with 'any of' in one task.")
        f.labels, f.task = values, task or f.task
    elif kind == "value":
        if key in f.values and f.values[key] != values:
            raise _cannot(expr, f"metadata key {key!r} is matched with 'any of' once.")
        f.values[key] = values
    else:
        raise _cannot(expr, "'|' joins tags, labels or values of one metadata key only.")


def _add_not(f: _Filter, expr: Not) -> None:
    inner = expr.part
    try:
        conds = _flatten_or(inner)
    except QueryError:
        conds = []
    if not conds or any(c.kind != "tag" for c in conds):
        raise _cannot(expr, "'~' applies to tag conditions only (exclude_tag).")
    f.exclude += [c.value for c in conds if c.value not in f.exclude]


def _add_bound(f: _Filter, c: Cond) -> None:
    value = float(c.value)
    if c.kind == "name":
        if f.q and f.q != c.value:
            raise _cannot(c, "one file-name text per filter.")
        f.q = c.value
        return
    if c.kind == "size":
        low = math.ceil(value) if c.op in (">=", "==") else math.floor(value) + 1
        high = math.floor(value) if c.op in ("<=", "==") else math.ceil(value) - 1
        if c.op in (">=", ">", "=="):
            key = f"{c.key}_min"
            f.sizes[key] = max(f.sizes.get(key, -math.inf), low)
        if c.op in ("<=", "<", "=="):
            key = f"{c.key}_max"
            f.sizes[key] = min(f.sizes.get(key, math.inf), high)
        return
    if c.op in (">=", ">"):
        bound = value if c.op == ">=" else math.nextafter(value, math.inf)
        f.mins[c.key] = max(f.mins.get(c.key, -math.inf), bound)
    else:
        bound = value if c.op == "<=" else math.nextafter(value, -math.inf)
        f.maxs[c.key] = min(f.maxs.get(c.key, math.inf), bound)
