"""Crops of objects for the pages: a box of its original image (plus optional padding), shrunk to
at most ``CROP_MAX`` pixels a side, cached as a PNG under ``MEDIA_ROOT``.

The crop's pixels are those of ``curation.formats.objects.object_crop`` (the one definition the
computed embeddings and the exports use: the box grown by ``padding`` times its width / height,
rounded outwards, clipped to the image); a crop that fits in ``CROP_MAX`` is stored as is
(lossless PNG), so it equals the slice of the original exactly. The cache name is a digest of the
image name, its modification time, the box and the padding: moving a box or replacing the image
gives a new name (old files are never read again; deleting the dataset's media folder clears
them). Every path goes through ``curation.storage.paths.safe_join``. Writes are atomic (a
temporary file, then ``os.replace``), so concurrent requests for one crop are harmless.

Pure functions with no Django or ORM: the view resolves who may see what.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from curation.formats.objects import object_crop_box
from curation.storage.frames import sample_source_path
from curation.storage.paths import UnsafePathError, safe_join

CROP_MAX = 192  # pixels a side, as the browser's thumbnails are shown
PADDINGS = ("0", "0.1", "0.25", "0.5")  # the paddings the pages offer (a fraction of the box)
DEFAULT_PADDING = "0.1"  # LightlyOne's crop_padding


class CropUnavailable(Exception):
    """No crop can be made: the image is unreadable or missing, or the box lies outside it."""


@dataclass(frozen=True)
class CropRequest:
    """One crop: the dataset's folders, the image's name and the box (x, y, w, h) in pixels."""

    dataset_id: int
    image_root: str
    file_name: str
    box: tuple[float, float, float, float]
    padding: float
    is_frame: bool = False


def crop_relpath(request: CropRequest, *, image_mtime_ns: int) -> str:
    """Where the crop of ``request`` is cached, relative to MEDIA_ROOT."""
    x, y, w, h = request.box
    key = f"{request.file_name}\x00{image_mtime_ns}\x00{x!r},{y!r},{w!r},{h!r}"
    key += f"\x00{request.padding!r}\x00{CROP_MAX}"
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    name = digest.hexdigest()
    return f"datasets/{request.dataset_id}/crops/{name[:2]}/{name}.png"


def _original(request: CropRequest) -> Path:
    try:
        path = sample_source_path(
            dataset_id=request.dataset_id,
            image_root=request.image_root,
            file_name=request.file_name,
            is_frame=request.is_frame,
        )
    except UnsafePathError:
        raise CropUnavailable("The image of this object is not in its dataset's folder.") from None
    if not path.is_file():
        raise CropUnavailable("The image of this object is missing.")
    return path


def _write(image: Image.Image, destination: Path) -> None:
    tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.tmp")
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def crop_render(
    source: Path, box: tuple[float, float, float, float], padding: float
) -> Image.Image:
    """The crop of ``box`` (plus ``padding``) from the image at ``source``, at most ``CROP_MAX``
    pixels a side (shrunk keeping its aspect ratio, never enlarged)."""
    try:
        with Image.open(source) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise CropUnavailable("The image of this object cannot be read.") from None
    left, top, right, bottom = object_crop_box(box, image.size, padding)
    if right <= left or bottom <= top:
        raise CropUnavailable("This object's box lies outside its image.")
    crop = image.crop((left, top, right, bottom))
    if max(crop.size) > CROP_MAX:
        crop.thumbnail((CROP_MAX, CROP_MAX), Image.Resampling.LANCZOS)
    return crop


def crop_cached(request: CropRequest, media_root: str | Path) -> Path:
    """The cached crop of ``request`` (made now when missing); ``CropUnavailable`` when no crop
    can be made."""
    source = _original(request)
    relpath = crop_relpath(request, image_mtime_ns=source.stat().st_mtime_ns)
    try:
        destination = safe_join(media_root, relpath)
    except UnsafePathError:
        raise CropUnavailable("The crop cache lies outside the media folder.") from None
    if not destination.is_file():
        _write(crop_render(source, request.box, request.padding), destination)
    return destination
