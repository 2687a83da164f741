"""Built-in image metadata (``lightly.*`` keys, brightness, contrast) computed from pixels.

The functions here are pure (a path or a PIL image in, a dict out) and this module imports no
Django model, so the ingest service can run them in worker processes (forkserver / spawn
children that never set Django up); ``imports.metadata_recompute`` writes results back in bulk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

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
    return _uniform_row_ratio(_uniform_levels(image.convert("L")))


# The fast forms below give the same bits as the float64 formulas above (tests compare them on
# many images), from the 8-bit grey levels L of the image, on which grey = L / 255:
# * (v / 255) * 255 == v for every level v (checked at import), so ``grey * 255`` holds the
#   integers L and the Laplacian of sharpness() is exact integer arithmetic: int16 gives the
#   same numbers, and the same variance.
# * The float response of uniform_row_ratio() differs from R / 255, R the integer response
#   8 * centre - neighbours, by less than 1e-13; the threshold is 5 / 255, so |R| <= 4 is
#   uniform and |R| >= 6 is not, and only pixels with |R| == 5 need the float formula (computed
#   for them alone: elementwise, the same bits as for the whole image).
_LEVELS = np.arange(256, dtype=np.float64)
assert (_LEVELS / 255.0 * 255.0 == _LEVELS).all()


def _uniform_levels(grey_image: Image.Image) -> np.ndarray:
    """The "L" image uniform_row_ratio() measures: at most 400 rows high, as uint8 levels."""
    if grey_image.height > _MAX_UNIFORM_HEIGHT:
        width = max(1, round(grey_image.width * _MAX_UNIFORM_HEIGHT / grey_image.height))
        grey_image = grey_image.resize((width, _MAX_UNIFORM_HEIGHT), Image.Resampling.BILINEAR)
    return np.asarray(grey_image)


def _sharpness_of_levels(levels: np.ndarray) -> float:
    """sharpness(levels / 255.0), exactly, in integer arithmetic."""
    if levels.shape[0] < 3 or levels.shape[1] < 3:
        return 0.0
    a = levels.astype(np.int16)
    lap = a[:-2, 1:-1] + a[2:, 1:-1]
    lap += a[1:-1, :-2]
    lap += a[1:-1, 2:]
    lap -= 4 * a[1:-1, 1:-1]
    return float(lap.astype(np.float64).var())


_NEIGHBOURS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2))  # formula order


def _uniform_row_ratio(levels: np.ndarray) -> float:
    """uniform_row_ratio() of an image whose "L" levels (<= 400 rows) are ``levels``."""
    height, width = levels.shape
    if height < 3 or width < 3:
        return 1.0
    a = levels.astype(np.int16)
    response = a[1:-1, 1:-1] * 8  # within +-8 * 255: fits in int16
    for dy, dx in _NEIGHBOURS:
        response -= a[dy : height - 2 + dy, dx : width - 2 + dx]
    np.abs(response, out=response)
    uniform_pixels = response <= 4
    rows, columns = np.nonzero(response == 5)
    if len(rows):  # the float64 formula, for these pixels only
        corner = rows * width + columns  # flat index of each one's top-left neighbour
        offsets = np.array([dy * width + dx for dy, dx in (*_NEIGHBOURS, (1, 1))])
        grey = levels.ravel()[corner[:, None] + offsets].astype(np.float64) / 255.0
        neighbours = grey[:, 0] + grey[:, 1]
        for index in range(2, len(_NEIGHBOURS)):
            neighbours += grey[:, index]
        uniform_pixels[rows, columns] = np.abs(8.0 * grey[:, -1] - neighbours) < _UNIFORM_THRESHOLD
    # The mean of a boolean row is its count / width, exactly (integer sums in float64).
    uniform_rows = np.count_nonzero(uniform_pixels, axis=1) / uniform_pixels.shape[1]
    return float(np.count_nonzero(uniform_rows > _UNIFORM_ROW_SHARE) / uniform_rows.shape[0])


def image_metadata(image: Image.Image, size_bytes: int) -> dict[str, Any]:
    grey_image = image.convert("L")
    levels = np.asarray(grey_image)
    grey = levels.astype(np.float64) / 255.0  # == _grey(image)
    return {
        "lightly.sizeInBytes": int(size_bytes),
        "lightly.sharpness": round(_sharpness_of_levels(levels), 6),
        "lightly.uniformRowRatio": round(_uniform_row_ratio(_uniform_levels(grey_image)), 6),
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
