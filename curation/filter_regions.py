"""Region filters of the filter language: ``box:SPACE=…`` and ``lasso:SPACE=…``.

Parsing of the parameter (``region_parse``) and the ids of the samples inside an area of the
cached 2D map of an embedding space (``region_sample_ids``), used by ``curation.filters``.
Map coordinates are scaled to [0, 1] on both axes (``curation.browse.projections``); a space
whose map is not computed yet is a ``FilterError`` raised by the caller's wrapper. Reads only.
"""

from __future__ import annotations

import math

import numpy as np

from curation.browse.projections import projection_binary_cached, projection_ready
from curation.models import Dataset, EmbeddingSpace


class RegionError(ValueError):
    """A region parameter that cannot be applied; the message names the parameter."""


def region_parse(param: str, value: str) -> tuple[str, str, tuple[float, ...]]:
    kind, space = param.split(":", 1)
    if not space or space != space.strip():
        raise RegionError(
            f"Filter parameter {param!r} needs an embedding space, e.g. {kind}:default."
        )
    try:
        coords = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise RegionError(
            f"Filter parameter {param}={value!r} must be numbers separated by commas."
        ) from None
    if not all(math.isfinite(c) for c in coords):
        raise RegionError(f"Filter parameter {param}={value!r} must be finite numbers.")
    if kind == "box" and len(coords) != 4:
        raise RegionError(f"Filter parameter {param} needs four numbers: x0,y0,x1,y1.")
    if kind == "lasso" and (len(coords) < 6 or len(coords) % 2):
        raise RegionError(f"Filter parameter {param} needs at least three x,y points.")
    return kind, space, coords


def region_sample_ids(
    dataset: Dataset, kind: str, space_name: str, coords: tuple[float, ...]
) -> list[int]:
    space = EmbeddingSpace.objects.filter(dataset=dataset, name=space_name).first()
    binary = projection_binary_cached(space=space) if space is not None else None
    if binary is not None:  # the map's cached binary: no 20 MB JSON to parse at 1M points
        raw_ids, raw_x, raw_y, binary_scale = binary.arrays()
        ids = raw_ids.astype(np.int64)
        x = raw_x.astype(np.float64) / binary_scale
        y = raw_y.astype(np.float64) / binary_scale
    else:
        projection = (
            EmbeddingSpace.objects.filter(pk=space.pk).values_list("projection", flat=True).first()
            if space is not None
            else None
        )
        if projection is None or not projection_ready(projection):
            raise RegionError(
                f"The embedding map of {space_name!r} is not available yet: open the map page "
                "to compute it, then select again."
            )
        ids = np.asarray(projection["ids"], dtype=np.int64)
        scale = float(projection.get("scale", 1))
        x = np.asarray(projection["x"], dtype=np.float64) / scale
        y = np.asarray(projection["y"], dtype=np.float64) / scale
    if kind == "box":
        x0, y0, x1, y1 = coords
        inside = (x >= min(x0, x1)) & (x <= max(x0, x1)) & (y >= min(y0, y1)) & (y <= max(y0, y1))
    else:
        inside = points_in_polygon(x, y, coords)
    return ids[inside].tolist()


def points_in_polygon(x: np.ndarray, y: np.ndarray, coords: tuple[float, ...]) -> np.ndarray:
    """Even-odd rule, vectorised over the points (one pass per polygon edge)."""
    px, py = np.asarray(coords[0::2]), np.asarray(coords[1::2])
    inside = np.zeros(len(x), dtype=bool)
    for i in range(len(px)):
        xa, ya, xb, yb = px[i - 1], py[i - 1], px[i], py[i]
        crosses = (ya > y) != (yb > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = xa + (y - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (x < x_cross)
    return inside
