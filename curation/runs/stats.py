"""What a succeeded selection run picked, compared with its candidates: class and metadata
distributions before vs after, embedding coverage (nearest-selected distances, computed with
numpy in chunks) and the per-pick explanation. Reads only; the numbers are ready to draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, QuerySet
from django.db.models.fields.json import KeyTransform

from curation.filters import FilterError, SampleFilter
from curation.models import Annotation, EmbeddingSpace, Sample, Score, SelectionRun, TagSample
from curation.runs.inputs import SelectionRunError, candidate_queryset, option_tag
from curation.selection.kernels_align import RowIndex
from curation.selection.kernels_knn import knn_distances, min_query_distance
from curation.storage.embeddings import embedding_space_load

COVERAGE_MAX_CANDIDATES = 20_000
HISTOGRAM_BINS = 20
MAX_CLASSES = 30


@dataclass
class Bar:
    label: str
    before: float  # share of the candidates, 0..1
    after: float  # share of the selection, 0..1

    @property
    def before_pct(self) -> float:
        return round(100 * self.before, 1)

    @property
    def after_pct(self) -> float:
        return round(100 * self.after, 1)


@dataclass
class Histogram:
    """Two histograms over the same bins, as SVG geometry in a 0..100 x 0..40 box."""

    title: str
    low: float
    high: float
    columns: list[dict[str, float]] = field(default_factory=list)
    before_mean: float | None = None
    after_mean: float | None = None
    before_label: str = "candidates"
    after_label: str = "selected"


@dataclass
class ClassChart:
    title: str
    bars: list[Bar]
    total_before: int
    total_after: int


@dataclass
class Coverage:
    space: str
    candidates_used: int
    sampled: bool
    selected_mean: float
    selected_max: float
    random_mean: float
    random_max: float
    preselected_mean: float | None
    preselected_max: float | None
    min_pairwise: float | None
    histogram: Histogram


@dataclass
class RunResults:
    selected: list[dict[str, Any]]
    class_charts: list[ClassChart]
    histograms: list[Histogram]
    coverage: Coverage | None
    coverage_note: str
    labels: list[str]
    picks: list[dict[str, Any]]


def run_candidates(run: SelectionRun) -> QuerySet[Sample]:
    """The run's candidates as recorded (filter snapshot + pre-selected, minus masked)."""
    dataset = run.dataset
    try:
        sample_filter = SampleFilter.parse(run.candidate_filter or {})
        pre = option_tag(dataset, (run.options or {}).get("preselected_tag"), "preselected_tag")
        mask = option_tag(dataset, (run.options or {}).get("mask_tag"), "mask_tag")
        qs = candidate_queryset(dataset, sample_filter, pre)
    except (FilterError, SelectionRunError):
        return Sample.objects.filter(pk__in=run.pick_order or [])
    if mask is not None:
        qs = qs.exclude(memberships__tag=mask)
    return qs


def class_charts(run: SelectionRun, candidates: QuerySet[Sample]) -> list[ClassChart]:
    picked = run.pick_order or []
    charts = []
    tasks = run.dataset.annotation_tasks.order_by("name")
    for task in tasks:
        before = dict(
            Annotation.objects.filter(task=task, sample__in=candidates.values("pk"))
            .values_list("label")
            .annotate(n=Count("pk"))
            .values_list("label", "n")
        )
        after = dict(
            Annotation.objects.filter(task=task, sample_id__in=picked)
            .values_list("label")
            .annotate(n=Count("pk"))
            .values_list("label", "n")
        )
        total_b, total_a = sum(before.values()), sum(after.values())
        if not total_b:
            continue
        order = sorted(before, key=lambda k: (-before[k], k))[:MAX_CLASSES]
        bars = [
            Bar(k, before[k] / total_b, after.get(k, 0) / total_a if total_a else 0.0)
            for k in order
        ]
        charts.append(ClassChart(task.name, bars, total_b, total_a))
    return charts


def _histogram(
    title: str, before: np.ndarray, after: np.ndarray, labels: tuple[str, str] | None = None
) -> Histogram | None:
    before = before[np.isfinite(before)]
    after = after[np.isfinite(after)]
    if before.size == 0:
        return None
    low, high = float(before.min()), float(before.max())
    if after.size:
        low, high = min(low, float(after.min())), max(high, float(after.max()))
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    hb = np.histogram(before, bins=edges)[0] / max(before.size, 1)
    ha = np.histogram(after, bins=edges)[0] / max(after.size, 1) if after.size else hb * 0
    top = float(max(hb.max(), ha.max(), 1e-12))
    width = 100.0 / HISTOGRAM_BINS
    columns = [
        {
            "x": round(i * width, 3),
            "w": round(width, 3),
            "hb": round(40 * float(hb[i]) / top, 3),
            "ha": round(40 * float(ha[i]) / top, 3),
            "yb": round(40 - 40 * float(hb[i]) / top, 3),
            "ya": round(40 - 40 * float(ha[i]) / top, 3),
            "from": float(edges[i]),
            "to": float(edges[i + 1]),
            "pb": round(100 * float(hb[i]), 1),
            "pa": round(100 * float(ha[i]), 1),
        }
        for i in range(HISTOGRAM_BINS)
    ]
    hist = Histogram(title=title, low=low, high=high, columns=columns)
    hist.before_mean = float(before.mean())
    hist.after_mean = float(after.mean()) if after.size else None
    if labels:
        hist.before_label, hist.after_label = labels
    return hist


def _numeric_metadata(candidates: QuerySet[Sample], key: str) -> dict[int, float]:
    out = {}
    rows = candidates.annotate(_v=KeyTransform(key, "metadata")).values_list("pk", "_v")
    for pk, value in rows.iterator(chunk_size=5000):
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[pk] = float(value)
    return out


def histograms(run: SelectionRun, candidates: QuerySet[Sample]) -> list[Histogram]:
    """Numeric inputs of the config (metadata keys, scores), else lightly.sharpness."""
    picked = set(run.pick_order or [])
    series: list[tuple[str, dict[int, float]]] = []
    seen: set[Any] = set()
    for entry in (run.config or {}).get("strategies", []):
        inp = (entry.get("input") or {}) if isinstance(entry, dict) else {}
        if inp.get("type") == "METADATA" and inp.get("key") and inp["key"] not in seen:
            seen.add(inp["key"])
            series.append((f"metadata {inp['key']}", _numeric_metadata(candidates, inp["key"])))
        elif inp.get("type") == "SCORES" and (inp.get("task"), inp.get("score")) not in seen:
            seen.add((inp.get("task"), inp.get("score")))
            values = dict(
                Score.objects.filter(
                    sample__in=candidates.values("pk"), task=inp.get("task"), name=inp.get("score")
                ).values_list("sample_id", "value")
            )
            series.append((f"score {inp.get('task')} · {inp.get('score')}", values))
    if not series:
        values = _numeric_metadata(candidates, "lightly.sharpness")
        if values:
            series.append(("metadata lightly.sharpness", values))
    out = []
    for title, values in series[:4]:
        before = np.fromiter(values.values(), dtype=np.float64, count=len(values))
        after = np.array([v for k, v in values.items() if k in picked], dtype=np.float64)
        hist = _histogram(title, before, after)
        if hist is not None:
            out.append(hist)
    return out


def nearest_distances(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Euclidean distance of every row of ``points`` to its nearest row of ``centers`` (the
    engine's exact kernel)."""
    if len(centers) == 0:
        return np.full(len(points), np.inf)
    return min_query_distance(np.asarray(points), None, np.asarray(centers))


def _space_for(run: SelectionRun) -> EmbeddingSpace | None:
    spaces = list(EmbeddingSpace.objects.filter(dataset=run.dataset).order_by("name"))
    if not spaces:
        return None
    for entry in (run.config or {}).get("strategies", []):
        inp = (entry.get("input") or {}) if isinstance(entry, dict) else {}
        if inp.get("type") == "EMBEDDINGS" and inp.get("embedding"):
            for space in spaces:
                if space.name == inp["embedding"]:
                    return space
    for space in spaces:
        if space.name == "default":
            return space
    return spaces[0]


def coverage(run: SelectionRun, candidates: QuerySet[Sample]) -> tuple[Coverage | None, str]:
    space = _space_for(run)
    if space is None:
        return None, "This dataset has no embedding space, so there is no coverage to show."
    try:
        loaded = embedding_space_load(space)
    except (OSError, ValueError):
        return None, f"The embedding space {space.name!r} could not be read."
    rows_of = RowIndex(loaded.sample_ids).rows
    cand_ids = np.fromiter(candidates.values_list("pk", flat=True), dtype=np.int64)
    picked = np.asarray(run.pick_order or [], dtype=np.int64)
    cand_rows = rows_of(np.sort(cand_ids))
    pick_rows = rows_of(picked)
    if cand_rows.size == 0 or pick_rows.size == 0:
        return None, "No candidate has a vector in the embedding space."
    rng = np.random.default_rng(0)
    sampled = cand_rows.size > COVERAGE_MAX_CANDIDATES
    eval_rows = (
        np.sort(rng.choice(cand_rows, COVERAGE_MAX_CANDIDATES, replace=False))
        if sampled
        else cand_rows
    )
    matrix = loaded.matrix
    points = np.asarray(matrix[eval_rows])
    sel = nearest_distances(points, np.asarray(matrix[np.sort(pick_rows)]))
    random_rows = np.sort(rng.choice(cand_rows, min(pick_rows.size, cand_rows.size), replace=False))
    rnd = nearest_distances(points, np.asarray(matrix[random_rows]))
    pre_mean = pre_max = None
    pre_tag = (run.options or {}).get("preselected_tag")
    if pre_tag:
        pre_ids = np.fromiter(
            TagSample.objects.filter(tag__dataset=run.dataset, tag__name=pre_tag).values_list(
                "sample_id", flat=True
            ),
            dtype=np.int64,
        )
        pre_rows = rows_of(np.sort(pre_ids))
        if pre_rows.size:
            pre = nearest_distances(points, np.asarray(matrix[pre_rows]))
            pre_mean, pre_max = float(pre.mean()), float(pre.max())
    min_pairwise = None
    if 1 < pick_rows.size <= 5000:
        chosen = np.asarray(matrix[pick_rows], dtype=np.float64)
        min_pairwise = float(knn_distances(chosen, None, 1)[:, 0].min())
    hist = _histogram(
        "distance to the nearest selected sample",
        rnd,
        sel,
        labels=("random pick of the same size", "this selection"),
    )
    assert hist is not None
    return (
        Coverage(
            space=space.name,
            candidates_used=int(eval_rows.size),
            sampled=sampled,
            selected_mean=float(sel.mean()),
            selected_max=float(sel.max()),
            random_mean=float(rnd.mean()),
            random_max=float(rnd.max()),
            preselected_mean=pre_mean,
            preselected_max=pre_max,
            min_pairwise=min_pairwise,
            histogram=hist,
        ),
        "",
    )


def explanation(run: SelectionRun, limit: int = 200) -> tuple[list[str], list[dict[str, Any]]]:
    """Strategy labels and the first ``limit`` picks with each strategy's term and share."""
    data = run.explanation or {}
    labels = [str(label) for label in data.get("labels", [])]
    picks = data.get("picks", [])[:limit]
    ids = [p.get("sample_id") for p in picks]
    names = dict(Sample.objects.filter(pk__in=ids).values_list("pk", "file_name"))
    rows: list[dict[str, Any]] = []
    for pick in picks:
        terms = pick.get("terms") or {}
        values = [terms.get(label) for label in labels]
        finite = [v for v in values if isinstance(v, int | float) and math.isfinite(v)]
        spread = sum(abs(v) for v in finite) or 1.0
        rows.append(
            {
                "rank": int(pick.get("rank", len(rows))) + 1,
                "sample_id": pick.get("sample_id"),
                "file_name": names.get(pick.get("sample_id"), "?"),
                "preselected": not finite and all(v is None for v in values),
                "terms": [
                    {
                        "value": v,
                        "share": round(100 * abs(v) / spread, 1)
                        if isinstance(v, int | float)
                        else None,
                    }
                    for v in values
                ],
                "total": sum(finite) if finite else None,
            }
        )
    return labels, rows


def run_results(run: SelectionRun, thumbnails: int = 60) -> RunResults:
    candidates = run_candidates(run)
    picked = list(run.pick_order or [])
    samples = Sample.objects.in_bulk(picked[:thumbnails])
    selected = [
        {"rank": i + 1, "sample": samples[pk]}
        for i, pk in enumerate(picked[:thumbnails])
        if pk in samples
    ]
    cov, note = coverage(run, candidates)
    labels, picks = explanation(run)
    return RunResults(
        selected=selected,
        class_charts=class_charts(run, candidates),
        histograms=histograms(run, candidates),
        coverage=cov,
        coverage_note=note,
        labels=labels,
        picks=picks,
    )
