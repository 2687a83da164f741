"""The embedding map: a canvas scatter plot of the cached 2D projection of an embedding space,
with the samples of the current filter (and optionally a tag) highlighted. Clicking a point
opens the sample; a box or lasso selection becomes a ``box:``/``lasso:`` filter in the browser.

The page is HTML. ``static/curation/embedding-map.js`` downloads the points once per
projection from ``map/points/`` as a compact binary (``application/octet-stream``, ~8 bytes a
point, format in ``curation.browse.projections``; ETag + ``Cache-Control: no-cache``, so a
reload or another filter gets 304 Not Modified), and the highlights from ``map/mask/`` as JSON
with base64 bit arrays row-aligned with the binary (125 kB at 1M points). While the map is
being computed both answer JSON ``{"ready": false, ...}``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import numpy as np
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from curation.access import get_dataset_for_user
from curation.browse.filter_cache import map_masks_packed
from curation.browse.map_colours import colour_choices
from curation.browse.maps import projection_binary, projection_schedule, projection_status
from curation.browse.projections import (
    projection_binary_cached,
    projection_method,
    umap_available,
)
from curation.filters import FilterError, SampleFilter
from curation.models import Dataset, EmbeddingSpace, Tag
from curation.web.pages import HtmxRequest


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
        sample_filter = SampleFilter.parse(_without(request, "space", "highlight", "colour"))
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
        "map_status": projection_status(space) if space is not None else "",
        "colour_groups": colour_choices(dataset) if space is not None else [],
        "colour": request.GET.get("colour", ""),
        "projection_method": projection_method(space) if space is not None else "",
        "umap_available": umap_available(),
    }
    return render(request, "curation/embedding_map.html", context)


@login_required
@require_POST
def map_compute(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    """ "Compute the map" for a space stored before maps were scheduled (anyone who may see the
    dataset: the map is derived data). Back to the map page, which then polls."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    name = request.POST.get("space", "")
    space = _space(dataset, name)
    if space is None:
        return redirect("embedding-map", dataset.pk)
    projection_schedule(space=space)
    return redirect(f"{reverse('embedding-map', args=[dataset.pk])}?space={quote(space.name)}")


def _not_ready(space: EmbeddingSpace) -> JsonResponse:
    """What the points and mask endpoints answer while a space has no map (nothing written)."""
    if projection_status(space) == "missing":
        return JsonResponse(
            {
                "ready": False,
                "missing": True,
                "message": "This space has no map yet: press Compute the map.",
            }
        )
    return JsonResponse({"ready": False, "message": "Computing the map…"})


def _without(request: HtmxRequest, *keys: str) -> list[tuple[str, str]]:
    return [(k, v) for k, values in request.GET.lists() for v in values if k not in keys]


def _bits(mask: np.ndarray) -> str:
    return base64.b64encode(np.packbits(mask, bitorder="little").tobytes()).decode("ascii")


def _not_modified(request: HtmxRequest, etag: str) -> bool:
    sent = request.headers.get("If-None-Match", "")
    return etag in [tag.strip().removeprefix("W/") for tag in sent.split(",")]


@login_required
def map_points(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    """All points of the space's map as the binary of ``projection_binary``."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    space = _space(dataset, request.GET.get("space", ""))
    if space is None:
        return JsonResponse({"ready": False, "error": "This dataset has no embedding space."})
    cached = projection_binary_cached(space=space)
    if cached is not None and _not_modified(request, cached.etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        binary = cached or projection_binary(space=space)
        if binary is None:
            return _not_ready(space)
        response = HttpResponse(binary.data, content_type="application/octet-stream")
        cached = binary
    response["ETag"] = cached.etag
    response["Cache-Control"] = "private, no-cache"  # revalidate: 304 while unchanged
    response["Vary"] = "Cookie"
    return response


@login_required
def map_mask(request: HtmxRequest, dataset_id: int) -> JsonResponse:
    """Which points match the filter and the highlighted tag: base64 bit arrays (bit i =
    row i of the points binary, little-endian bit order) plus the binary's ETag."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    space = _space(dataset, request.GET.get("space", ""))
    if space is None:
        return JsonResponse({"ready": False, "error": "This dataset has no embedding space."})
    binary = projection_binary(space=space)
    if binary is None:
        return _not_ready(space)
    raw_ids = binary.arrays()[0]
    payload: dict[str, Any] = {"ready": True, "count": len(raw_ids), "etag": binary.etag}
    highlight = request.GET.get("highlight", "")
    tag = Tag.objects.filter(dataset=dataset, name=highlight).first() if highlight else None
    try:
        sample_filter = SampleFilter.parse(_without(request, "space", "highlight", "colour"))
        masks = map_masks_packed(  # stored under the data version: browse.filter_cache
            dataset=dataset, row_ids=raw_ids, row_key=binary.etag, sample_filter=sample_filter,
            tag=tag,
        )  # fmt: skip
    except FilterError as exc:  # the filter is reported; the tag highlight still shows
        payload["error"] = str(exc)
        masks = map_masks_packed(
            dataset=dataset, row_ids=raw_ids, row_key=binary.etag, sample_filter=SampleFilter(),
            tag=tag,
        )  # fmt: skip
    if masks.filter_bits is not None:
        payload["filter_mask"] = base64.b64encode(masks.filter_bits).decode("ascii")
        payload["matching"] = masks.matching
    if masks.tag_bits is not None:
        payload["tag_mask"] = base64.b64encode(masks.tag_bits).decode("ascii")
    return JsonResponse(payload)
