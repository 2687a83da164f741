"""The embedding map: a canvas scatter plot of the cached 2D projection of an embedding space,
with the samples of the current filter (and optionally a tag) highlighted. Clicking a point
opens the sample; a box or lasso selection becomes a ``box:``/``lasso:`` filter in the browser.

The page is HTML; the points come from ``map/points/`` as compact JSON (ids, integer
coordinates, and highlight masks as base64 bit arrays) for ``static/curation/embedding-map.js``.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from curation.access import get_dataset_for_user
from curation.models import Dataset, EmbeddingSpace, Tag
from curation.selectors import FilterError, SampleFilter, filter_samples
from curation.services.projections import projection_request
from curation.views.common import HtmxRequest


def _space(dataset: Dataset, name: str) -> EmbeddingSpace | None:
    spaces = EmbeddingSpace.objects.filter(dataset=dataset).defer("projection").order_by("name")
    return spaces.filter(name=name).first() if name else spaces.first()


@login_required
def embedding_map(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    spaces = list(EmbeddingSpace.objects.filter(dataset=dataset).defer("projection"))
    space = _space(dataset, request.GET.get("space", ""))
    error = ""
    try:
        sample_filter = SampleFilter.parse(_without(request, "space", "highlight"))
    except FilterError as exc:
        error, sample_filter = str(exc), SampleFilter()
    context: dict[str, Any] = {
        "dataset": dataset,
        "spaces": spaces,
        "space": space,
        "filter": sample_filter,
        "filter_query": sample_filter.to_querystring(),
        "tags": list(Tag.objects.filter(dataset=dataset).order_by("name")),
        "highlight": request.GET.get("highlight", ""),
        "error": error,
    }
    return render(request, "curation/embedding_map.html", context)


def _without(request: HtmxRequest, *keys: str) -> list[tuple[str, str]]:
    return [(k, v) for k, values in request.GET.lists() for v in values if k not in keys]


def _bits(mask: np.ndarray) -> str:
    return base64.b64encode(np.packbits(mask, bitorder="little").tobytes()).decode("ascii")


@login_required
def map_points(request: HtmxRequest, dataset_id: int) -> JsonResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    space = _space(dataset, request.GET.get("space", ""))
    if space is None:
        return JsonResponse({"ready": False, "error": "This dataset has no embedding space."})
    space = EmbeddingSpace.objects.get(pk=space.pk)  # now with its projection
    projection = projection_request(space=space)
    if projection is None:
        return JsonResponse({"ready": False, "message": "Computing the map…"})
    ids = np.asarray(projection["ids"], dtype=np.int64)
    payload: dict[str, Any] = {
        "ready": True,
        "space": space.name,
        "scale": projection["scale"],
        "ids": projection["ids"],
        "x": projection["x"],
        "y": projection["y"],
    }
    try:
        sample_filter = SampleFilter.parse(_without(request, "space", "highlight"))
        if not sample_filter.is_empty:
            matched = np.fromiter(
                filter_samples(dataset, sample_filter).values_list("pk", flat=True), dtype=np.int64
            )
            payload["filter_mask"] = _bits(np.isin(ids, matched))
    except FilterError as exc:
        payload["error"] = str(exc)
    highlight = request.GET.get("highlight", "")
    tag = Tag.objects.filter(dataset=dataset, name=highlight).first() if highlight else None
    if tag is not None:
        members = np.fromiter(tag.memberships.values_list("sample_id", flat=True), dtype=np.int64)
        payload["tag_mask"] = _bits(np.isin(ids, members))
    return JsonResponse(payload)
