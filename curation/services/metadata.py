"""Built-in image metadata (``lightly.*`` keys, brightness, contrast) computed from pixels.

The functions here are pure (a path or a PIL image in, a dict out) so the ingest service can run
them in worker processes; ``sample_metadata_recompute`` writes the results back in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

if TYPE_CHECKING:  # imported lazily: worker processes import this module without Django set up
    from curation.models import Sample

BUILTIN_KEYS = (
    "lightly.sizeInBytes",
    "lightly.sharpness",
    "lightly.uniformRowRatio",
    "lightly.width",
    "lightly.height",
    "lightly.brightness",
    "lightly.contrast",
)
_UNIFORM_THRESHOLD = 5.0 / 255.0
_UNIFORM_ROW_SHARE = 0.97
_MAX_UNIFORM_HEIGHT = 400


def _grey(image: Image.Image) -> np.ndarray:
    """Greyscale pixels as float64 in [0, 1]."""
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def sharpness(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the greyscale image (0..255 scale)."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    g = grey * 255.0
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def uniform_row_ratio(image: Image.Image) -> float:
    """Share of rows whose pixels are nearly all flat under an 8-neighbour Laplacian."""
    grey_image = image.convert("L")
    if grey_image.height > _MAX_UNIFORM_HEIGHT:
        width = max(1, round(grey_image.width * _MAX_UNIFORM_HEIGHT / grey_image.height))
        grey_image = grey_image.resize((width, _MAX_UNIFORM_HEIGHT), Image.Resampling.BILINEAR)
    g = np.asarray(grey_image, dtype=np.float64) / 255.0
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 1.0
    centre = g[1:-1, 1:-1]
    neighbours = (
        g[:-2, :-2] + g[:-2, 1:-1] + g[:-2, 2:] + g[1:-1, :-2]
        + g[1:-1, 2:] + g[2:, :-2] + g[2:, 1:-1] + g[2:, 2:]
    )  # fmt: skip
    response = 8.0 * centre - neighbours
    uniform_pixels = np.abs(response) < _UNIFORM_THRESHOLD
    uniform_rows = uniform_pixels.mean(axis=1) > _UNIFORM_ROW_SHARE
    return float(uniform_rows.mean())


def image_metadata(image: Image.Image, size_bytes: int) -> dict[str, Any]:
    grey = _grey(image)
    return {
        "lightly.sizeInBytes": int(size_bytes),
        "lightly.sharpness": round(sharpness(grey), 6),
        "lightly.uniformRowRatio": round(uniform_row_ratio(image), 6),
        "lightly.width": image.width,
        "lightly.height": image.height,
        "lightly.brightness": round(float(grey.mean()), 6),
        "lightly.contrast": round(float(grey.std()), 6),
    }


def image_file_metadata(path: Path) -> dict[str, Any]:
    """Open ``path`` and compute its built-in metadata (raises ``OSError`` if unreadable)."""
    with Image.open(path) as image:
        image.load()
        return image_metadata(image, path.stat().st_size)


def sample_metadata_recompute(*, samples: Iterable[Sample]) -> tuple[int, list[str]]:
    """Recompute built-in metadata of ``samples`` from their files; returns (updated, failures).

    Custom metadata keys are kept; built-in keys, width, height and size are replaced.
    """
    from curation.models import Dataset, Sample

    updated: list[Sample] = []
    failures: list[str] = []
    roots: dict[int, Path] = {}
    for sample in samples:
        if sample.dataset_id not in roots:  # one query per dataset, not per sample
            image_root = Dataset.objects.values_list("image_root", flat=True).get(
                pk=sample.dataset_id
            )
            roots[sample.dataset_id] = Path(image_root)
        root = roots[sample.dataset_id]
        try:
            computed = image_file_metadata(root / sample.file_name)
        except (OSError, ValueError) as exc:
            failures.append(f"{sample.file_name}: {exc}")
            continue
        sample.metadata = {**sample.metadata, **computed}
        sample.width = computed["lightly.width"]
        sample.height = computed["lightly.height"]
        sample.size_bytes = computed["lightly.sizeInBytes"]
        updated.append(sample)
    Sample.objects.bulk_update(
        updated, ["metadata", "width", "height", "size_bytes"], batch_size=1000
    )
    return len(updated), failures
