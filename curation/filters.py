"""Reads shared by pages, the API, the CLI and selection runs; above all the sample filter.

The filter language is the browser's URL query string, so a filter is shareable as a link and
the same text works for ``manage.py select --where`` and the API's ``/samples/`` parameters:

=========================  ===========================================================
``tag=NAME``               in any of the listed tags (repeat the parameter)
``exclude_tag=NAME``       in none of the listed tags
``label=LABEL``            has an annotation with one of these labels …
``task=TASK``              … of this task (``ground_truth`` or a prediction task)
``q=TEXT``                 file name contains TEXT (case-insensitive)
``width_min``/``width_max``/``height_min``/``height_max``  image size bounds (pixels)
``min:KEY=X``/``max:KEY=Y``  numeric metadata KEY within [X, Y] (e.g. ``min:lightly.sharpness=50``)
``meta:KEY=VALUE``         string/boolean metadata KEY equals one of the listed values
``box:SPACE=x0,y0,x1,y1``  inside this rectangle of the embedding map of SPACE
``lasso:SPACE=x0,y0,...``  inside this polygon (at least 3 points) of the map of SPACE
``text=QUERY``             best match first: cosine similarity to the encoded QUERY
``space=NAME``             … in this embedding space (when several have a text model)
``text_top=N``             … keeping only the N best matches
``similar_to=ID[,ID…]``    nearest first: exact embedding distance to these samples
``similar_top=N``          … keeping only the N nearest (``space=NAME`` as for text)
``video=NAME``             a frame of one of the listed videos; ``frames=START-END`` frame
                           indexes, open ends allowed (``curation.filter_videos``)
``view=NAME``              a saved view's parameters (expanded by ``curation.browse.saved_views``
                           in the browser, the API's sample list and a selection run's
                           candidates: API, dialog, ``select --where``; an error elsewhere)
=========================  ===========================================================

Map coordinates are those of the cached 2D projection of the embedding space, scaled to
[0, 1] on both axes (``curation.browse.projections``); a region filter on a space whose map is
not computed yet is a ``FilterError``. Several regions intersect (``curation.filter_regions``).
``text=`` and ``similar_to=`` each order the result (hooks: ``curation.filters_text``,
``curation.filters_similar``); a filter has at most one of them.

Example: ``tag=train&exclude_tag=masked&label=cat&task=ground_truth&min:lightly.sharpness=50``.

Metadata predicates are typed (a range matches stored numbers only; ``meta:`` compares strings,
booleans and numbers by type) and written so PostgreSQL can estimate and index them
(``curation.filter_metadata``; GIN index of migration 0012).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from curation.browse.similarity import SimilarityError, similar_top_ids
from curation.embeddings.text_search import TextSearchError, text_filter_ids
from curation.filter_metadata import range_condition, values_condition
from curation.filter_regions import RegionError, region_parse, region_sample_ids
from curation.filter_videos import (
    FrameRange,
    VideoFilterError,
    frames_parse,
    video_condition,
    video_describe,
    video_pairs,
)
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Tag, TagSample

_SIZE_KEYS = ("width_min", "width_max", "height_min", "height_max")
_LIST_KEYS = ("tag", "exclude_tag", "label", "video")
_SINGLE_KEYS = ("task", "q", "frames")
# paging and display state of the pages (curation.browse.views), not conditions on samples:
_IGNORED_KEYS: tuple[str, ...] = ("page", "after", "before", "partial", "sort", "cursor")
_IGNORED_KEYS += ("page_size", "boxes", "sample")
_REGION_KINDS = ("box", "lasso")
_TEXT_KEYS = ("text", "space", "text_top")  # text search: curation.embeddings.text_search
_SIMILAR_KEYS = ("similar_to", "similar_top")  # find similar: curation.browse.similarity


class FilterError(ValueError):
    """A filter that cannot be applied; the message names the parameter."""


@dataclass(frozen=True)
class SampleFilter:
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    task: str = ""
    q: str = ""
    sizes: tuple[tuple[str, int], ...] = ()
    ranges: tuple[tuple[str, float | None, float | None], ...] = ()
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    regions: tuple[tuple[str, str, tuple[float, ...]], ...] = ()  # (kind, space, coordinates)
    text: str = ""  # order by similarity to this text (``text_search``), best first
    space: str = ""
    text_top: int = 0
    similar_to: tuple[int, ...] = ()  # order by embedding distance to these samples
    similar_top: int = 0
    videos: tuple[str, ...] = ()  # frames of these videos (curation.filter_videos)
    frames: FrameRange | None = None  # frame-index range, inclusive, None = any
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    # ---- parsing -------------------------------------------------------------------------
    @classmethod
    def parse(cls, source: str | Mapping[str, Any] | Iterable[tuple[str, str]]) -> SampleFilter:
        """From a query string, a ``QueryDict`` or (key, value) pairs. Raises ``FilterError``."""
        pairs = _pairs(source)
        lists: dict[str, list[str]] = {k: [] for k in _LIST_KEYS}
        single: dict[str, str] = {}
        sizes: dict[str, int] = {}
        mins: dict[str, float] = {}
        maxs: dict[str, float] = {}
        values: dict[str, list[str]] = {}
        regions: list[tuple[str, str, tuple[float, ...]]] = []
        text: dict[str, str] = {}
        for key, raw in pairs:
            value = raw.strip()
            if value == "" or key in _IGNORED_KEYS:
                continue
            if key in _LIST_KEYS:
                lists[key].append(value)
            elif key in _SINGLE_KEYS:
                single[key] = value
            elif key in _TEXT_KEYS or key in _SIMILAR_KEYS:
                text[key] = f"{text[key]},{value}" if key == "similar_to" and key in text else value
            elif key in _SIZE_KEYS:
                sizes[key] = _as_int(key, value)
            elif key.startswith(("min:", "max:")):
                meta_key = _meta_key(key)
                (mins if key.startswith("min:") else maxs)[meta_key] = _as_float(key, value)
            elif key.startswith("meta:"):
                values.setdefault(_meta_key(key), []).append(value)
            elif key == "view":  # expanded first by curation.browse.saved_views
                raise FilterError(
                    f"Filter parameter view={value!r}: saved views work in the browser and the "
                    "API (sample lists, selection runs); give the view's own parameters here."
                )
            elif key.split(":", 1)[0] in _REGION_KINDS and ":" in key:
                try:
                    regions.append(region_parse(key, value))
                except RegionError as exc:
                    raise FilterError(str(exc)) from None
            else:
                raise FilterError(
                    f"Unknown filter parameter {key!r}: use tag, exclude_tag, label, task, q, "
                    "width_min/width_max/height_min/height_max, min:KEY, max:KEY, meta:KEY, "
                    "text, similar_to, video or frames."
                )
        top = _as_int("text_top", text["text_top"]) if "text_top" in text else 0  # no text: unused
        if top < 0:
            raise FilterError(f"Filter parameter text_top={top} must be 1 or more.")
        similar = _ids("similar_to", text["similar_to"]) if "similar_to" in text else ()
        similar_top = _as_int("similar_top", text.get("similar_top", "0")) if similar else 0
        if similar_top < 0:
            raise FilterError(f"Filter parameter similar_top={similar_top} must be 1 or more.")
        if similar and "text" in text:
            raise FilterError("text= and similar_to= both order the samples: use one of them.")
        try:
            frames = frames_parse(single["frames"]) if "frames" in single else None
        except VideoFilterError as exc:
            raise FilterError(str(exc)) from None
        range_keys = sorted(set(mins) | set(maxs))
        return cls(
            tags=tuple(dict.fromkeys(lists["tag"])),
            exclude_tags=tuple(dict.fromkeys(lists["exclude_tag"])),
            labels=tuple(dict.fromkeys(lists["label"])),
            task=single.get("task", ""),
            q=single.get("q", ""),
            sizes=tuple(sorted(sizes.items())),
            ranges=tuple((k, mins.get(k), maxs.get(k)) for k in range_keys),
            values=tuple((k, tuple(dict.fromkeys(v))) for k, v in sorted(values.items())),
            regions=tuple(dict.fromkeys(regions)),
            text=text.get("text", ""),
            space=text.get("space", "") if "text" in text or similar else "",
            text_top=top if "text" in text else 0,
            similar_to=similar,
            similar_top=similar_top,
            videos=tuple(dict.fromkeys(lists["video"])),
            frames=frames,
        )

    # ---- output --------------------------------------------------------------------------
    def to_pairs(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        pairs += [("tag", t) for t in self.tags]
        pairs += [("exclude_tag", t) for t in self.exclude_tags]
        pairs += [("label", label) for label in self.labels]
        if self.task:
            pairs.append(("task", self.task))
        if self.q:
            pairs.append(("q", self.q))
        pairs += [(k, str(v)) for k, v in self.sizes]
        for key, low, high in self.ranges:
            if low is not None:
                pairs.append((f"min:{key}", _fmt(low)))
            if high is not None:
                pairs.append((f"max:{key}", _fmt(high)))
        for key, vals in self.values:
            pairs += [(f"meta:{key}", v) for v in vals]
        for kind, space, coords in self.regions:
            pairs.append((f"{kind}:{space}", ",".join(_fmt(c) for c in coords)))
        if self.text:
            pairs.append(("text", self.text))
            pairs += [("space", self.space)] if self.space else []
            pairs += [("text_top", str(self.text_top))] if self.text_top else []
        if self.similar_to:
            pairs.append(("similar_to", ",".join(str(i) for i in self.similar_to)))
            pairs += [("space", self.space)] if self.space else []
            pairs += [("similar_top", str(self.similar_top))] if self.similar_top else []
        return pairs + video_pairs(self.videos, self.frames)

    def to_querystring(self) -> str:
        return urlencode(self.to_pairs(), safe=":,")

    def to_dict(self) -> dict[str, list[str]]:
        """A JSON snapshot (parameter -> values) that ``parse`` reads back."""
        snapshot: dict[str, list[str]] = {}
        for key, value in self.to_pairs():
            snapshot.setdefault(key, []).append(value)
        return snapshot

    @property
    def is_empty(self) -> bool:
        return not self.to_pairs()

    def describe(self) -> str:
        """A short human sentence, e.g. 'in tag train, sharpness >= 50'."""
        parts = []
        if self.tags:
            parts.append("in tag " + " or ".join(self.tags))
        if self.exclude_tags:
            parts.append("not in " + ", ".join(self.exclude_tags))
        if self.labels:
            where = f" ({self.task})" if self.task else ""
            parts.append("labelled " + " or ".join(self.labels) + where)
        elif self.task:
            parts.append(f"annotated in {self.task}")
        if self.q:
            parts.append(f"file name contains {self.q!r}")
        parts += [f"{k.replace('_min', ' >= ').replace('_max', ' <= ')}{v}" for k, v in self.sizes]
        for key, low, high in self.ranges:
            if low is not None and high is not None:
                parts.append(f"{_fmt(low)} <= {key} <= {_fmt(high)}")
            elif low is not None:
                parts.append(f"{key} >= {_fmt(low)}")
            else:
                parts.append(f"{key} <= {_fmt(high)}")
        parts += [f"{key} = {' or '.join(vals)}" for key, vals in self.values]
        parts += [f"{kind} selection on the {space} map" for kind, space, _ in self.regions]
        if self.text:
            best = f"the {self.text_top} best matches" if self.text_top else "best match first"
            parts.append(f"{best} for {self.text!r}" + (f" in {self.space}" if self.space else ""))
        if self.similar_to:
            near = f"the {self.similar_top} nearest" if self.similar_top else "nearest first"
            which = ", ".join(str(i) for i in self.similar_to)
            plural = "s" if len(self.similar_to) > 1 else ""
            in_space = f" in {self.space}" if self.space else ""
            parts.append(f"{near} to sample{plural} {which}{in_space}")
        parts += video_describe(self.videos, self.frames)
        return ", ".join(parts) if parts else "all samples"


def filter_samples(dataset: Dataset, sample_filter: SampleFilter) -> QuerySet[Sample]:
    """The dataset's samples matching the filter (unordered; callers order by ``pk``)."""
    qs = Sample.objects.filter(dataset=dataset)
    f = sample_filter
    if f.tags or f.exclude_tags:
        tag_ids = tag_ids_by_name(dataset, (*f.tags, *f.exclude_tags))
        if f.tags:
            wanted = [tag_ids[name] for name in f.tags]
            qs = qs.filter(
                Exists(TagSample.objects.filter(sample=OuterRef("pk"), tag_id__in=wanted))
            )
        if f.exclude_tags:
            unwanted = [tag_ids[name] for name in f.exclude_tags]
            qs = qs.exclude(
                Exists(TagSample.objects.filter(sample=OuterRef("pk"), tag_id__in=unwanted))
            )
    if f.labels or f.task:
        annotations = Annotation.objects.filter(sample=OuterRef("pk"))
        if f.task:
            # The task's id as a literal (one tiny query): the planner then knows how many
            # annotations match instead of guessing through a join (2.5x faster at 1M).
            task_ids = list(
                AnnotationTask.objects.filter(dataset=dataset, name=f.task).values_list(
                    "pk", flat=True
                )
            )
            annotations = annotations.filter(task_id__in=task_ids)
        if f.labels:
            annotations = annotations.filter(label__in=f.labels)
        qs = qs.filter(Exists(annotations))
    if f.q:
        qs = qs.filter(file_name__icontains=f.q)
    if f.videos or f.frames:
        try:
            qs = qs.filter(video_condition(dataset, f.videos, f.frames))
        except VideoFilterError as exc:
            raise FilterError(str(exc)) from None
    for key, bound in f.sizes:
        field_name, op = key.split("_")
        qs = qs.filter(**{f"{field_name}__{'gte' if op == 'min' else 'lte'}": bound})
    for key, vals in f.values:  # indexed containment first (see curation.filter_metadata)
        qs = qs.filter(values_condition(key, vals))
    for key, low, high in f.ranges:
        qs = qs.filter(range_condition(key, low, high))
    for kind, space, coords in f.regions:
        try:
            inside = region_sample_ids(dataset, kind, space, coords)
        except RegionError as exc:
            raise FilterError(str(exc)) from None
        qs = qs.filter(ids_condition(inside))
    if f.text:  # checks the space; text_top keeps the N best (curation.embeddings.text_search)
        try:
            best = text_filter_ids(dataset, f.text, f.space, f.text_top, qs)
        except TextSearchError as exc:
            raise FilterError(str(exc)) from None
        qs = qs if best is None else qs.filter(ids_condition(best))
    if f.similar_to:  # checks the query; similar_top keeps the N nearest (browse.similarity)
        try:
            nearest = similar_top_ids(dataset, f.similar_to, f.space, f.similar_top, qs)
        except SimilarityError as exc:
            raise FilterError(str(exc)) from None
        qs = qs if nearest is None else qs.filter(ids_condition(nearest))
    return qs


def ids_condition(ids: Iterable[int]) -> Q:
    """``pk IN ids`` as ONE query parameter (a PostgreSQL array or a JSON text for SQLite's
    ``json_each``), so a region of 500k points stays a small query."""
    id_list = [int(i) for i in ids]
    if not id_list:
        return Q(pk__in=[])
    if connection.vendor == "postgresql":
        # Constant SQL text; the ids travel as one bound parameter.
        return Q(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (id_list,)))
    return Q(pk__in=RawSQL("SELECT value FROM json_each(%s)", (json.dumps(id_list),)))


def tag_ids_by_name(dataset: Dataset, names: Iterable[str]) -> dict[str, int]:
    names = set(names)
    found = dict(Tag.objects.filter(dataset=dataset, name__in=names).values_list("name", "pk"))
    missing = sorted(names - set(found))
    if missing:
        raise FilterError(f"No tag named {missing[0]!r} in dataset {dataset.name!r}.")
    return found


def _pairs(source: str | Mapping[str, Any] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    if isinstance(source, str):
        return parse_qsl(source.lstrip("?"), keep_blank_values=True)
    if hasattr(source, "lists"):  # QueryDict
        return [(k, v) for k, vs in source.lists() for v in vs]
    if isinstance(source, Mapping):
        pairs = []
        for key, value in source.items():
            for item in value if isinstance(value, list | tuple) else [value]:
                pairs.append((str(key), str(item)))
        return pairs
    return [(str(k), str(v)) for k, v in source]


def filter_pairs(
    source: str | Mapping[str, Any] | Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    """The (key, value) pairs of a filter given in any form ``SampleFilter.parse`` takes (for
    ``curation.browse.saved_views``, which expands ``view=NAME`` before parsing)."""
    return _pairs(source)


def _meta_key(param: str) -> str:
    key = param.split(":", 1)[1]
    if not key or "__" in key or key != key.strip():
        raise FilterError(
            f"Filter parameter {param!r} needs a metadata key, e.g. min:lightly.sharpness."
        )
    return key


def _ids(param: str, value: str) -> tuple[int, ...]:
    """Sample ids separated by commas, without repeats, in the order given."""
    try:
        ids = tuple(dict.fromkeys(int(part) for part in value.split(",") if part.strip()))
    except ValueError:
        raise FilterError(
            f"Filter parameter {param}={value!r} must be sample ids separated by commas."
        ) from None
    if not ids or min(ids) < 1:
        raise FilterError(f"Filter parameter {param}={value!r} must be sample ids (1 or more).")
    return ids


def _as_int(param: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FilterError(f"Filter parameter {param}={value!r} must be a whole number.") from None


def _as_float(param: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FilterError(f"Filter parameter {param}={value!r} must be a number.") from None
    if not math.isfinite(number):
        raise FilterError(f"Filter parameter {param}={value!r} must be a finite number.")
    return number


def _fmt(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else repr(float(number))
