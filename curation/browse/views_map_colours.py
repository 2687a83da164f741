"""The embedding map's colour-by values and its hover preview (read-only endpoints).

``map/colours/?space=S&colour=FIELD`` answers JSON: the field's values over the map's points,
row-aligned with the points binary (``views_map.map_points``), base64 of ``uint8`` codes or
``uint16`` number steps, plus the legend (categories with their colours and counts, or the
numbers' ``low``/``high``) and the binary's ``etag``, so the browser knows the values belong to
the points it holds. It is fetched only when the colour field changes; the points are never
sent again. Field names and encoding: ``curation.browse.map_colours``.

``map/samples/<id>/hover/`` is the HTML of the hover tooltip (thumbnail and file name).
"""

from __future__ import annotations

import base64

import numpy as np
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from curation.access import get_dataset_for_user
from curation.browse.map_colours import ColourError, colour_values
from curation.browse.maps import projection_binary, projection_status
from curation.models import EmbeddingSpace, Sample
from curation.web.pages import HtmxRequest


@login_required
@require_safe
def map_colours(request: HtmxRequest, dataset_id: int) -> JsonResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    spaces = EmbeddingSpace.objects.filter(dataset=dataset).defer("projection").order_by("name")
    name = request.GET.get("space", "")
    space = spaces.filter(name=name).first() if name else spaces.first()
    if space is None:
        return JsonResponse({"error": "This dataset has no embedding space."}, status=404)
    binary = projection_binary(space=space)
    if binary is None:
        missing = projection_status(space) == "missing"
        message = "This space has no map yet: press Compute the map." if missing else ""
        return JsonResponse({"ready": False, "message": message or "Computing the map…"})
    try:
        found = colour_values(
            dataset=dataset, row_ids=binary.arrays()[0], raw=request.GET.get("colour", "")
        )
    except ColourError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    payload = {
        "ready": True,
        "etag": binary.etag,
        "count": len(found.values),
        "field": found.key,
        "kind": found.kind,
        "dtype": found.values.dtype.name,
        "values": _little_endian_base64(found.values),
        "categories": [
            {"name": c.name, "colour": c.colour, "count": c.count} for c in found.categories
        ],
        "low": found.low,
        "high": found.high,
        "missing": found.missing,
    }
    return JsonResponse(payload)


def _little_endian_base64(values: np.ndarray) -> str:
    little = values.astype(values.dtype.newbyteorder("<"), copy=False)
    return base64.b64encode(little.tobytes()).decode("ascii")


@login_required
@require_safe
def map_hover(request: HtmxRequest, dataset_id: int, sample_id: int) -> HttpResponse:
    """The tooltip over a hovered point: the sample's thumbnail and file name."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    sample = get_object_or_404(
        Sample.objects.only("id", "file_name", "dataset_id"), pk=sample_id, dataset=dataset
    )
    response = render(request, "curation/embedding_map.html#hover", {"sample": sample})
    response["Cache-Control"] = "private, max-age=300"
    return response
