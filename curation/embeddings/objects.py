"""Object embeddings computed from the crops: each box of a detection task (plus padding) cut
from its image and described by the same built-in embedder as whole images
(``image_descriptor`` per crop, then one PCA over the task's crops, ``descriptors_reduce``).

The result is cached as the task's object space ``crops:<task>`` with ``source`` recording the
padding, the minimum object size and a fingerprint of the boxes it was computed from; when a box
is added, moved or removed the fingerprint differs and ``object_space_current`` computes it
again. Boxes smaller than the minimum size (either side, in pixels), zero-area boxes and boxes
of samples whose pixels cannot be read get no vector (a run reports them as objects without a
vector). ``object_crop_box`` is the one definition of a crop's pixels: the box grown by
``padding`` times its width / height on every side, rounded outwards and clipped to the image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from curation.embeddings.embedders import descriptors_reduce, image_descriptor
from curation.formats.objects import object_crop, object_crop_box
from curation.imports.objects import ObjectBox, object_space_name, task_boxes
from curation.models import AnnotationTask, EmbeddingSpace, Sample
from curation.storage.embeddings import embedding_space_store
from curation.storage.frames import sample_source_path
from curation.storage.paths import UnsafePathError

DEFAULT_PADDING = 0.1  # LightlyOne's crop_padding: a fraction of the box's width / height
DEFAULT_MIN_SIZE = 1  # pixels, each side

Check = Callable[[], None]
__all__ = ["object_crop", "object_crop_box"]  # the one crop definition, from the formats


def _noop() -> None:
    return None


class ObjectEmbeddingError(ValueError):
    """Object embeddings that cannot be computed; the message says why."""


def boxes_fingerprint(boxes: list[ObjectBox]) -> str:
    """A digest of every box (id and geometry): changes whenever a box is added, moved or
    removed."""
    digest = hashlib.sha256()
    for b in boxes:
        digest.update(f"{b.annotation_id}:{b.x!r},{b.y!r},{b.w!r},{b.h!r};".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class CropSettings:
    padding: float = DEFAULT_PADDING
    min_size: int = DEFAULT_MIN_SIZE

    def __post_init__(self) -> None:
        if not (0 <= self.padding <= 10):
            raise ObjectEmbeddingError("padding must be between 0 and 10 (a fraction of the box).")
        if self.min_size < 1:
            raise ObjectEmbeddingError("the minimum object size must be at least 1 pixel.")


def _sample_paths(task: AnnotationTask) -> dict[int, str]:
    """Each sample's file: below the image folder, or in the frames store for video frames."""
    root = task.dataset.image_root
    out = {}
    for pk, name, video in Sample.objects.filter(dataset_id=task.dataset_id).values_list(
        "pk", "file_name", "video_id"
    ):
        try:
            out[pk] = str(
                sample_source_path(
                    dataset_id=task.dataset_id,
                    image_root=root,
                    file_name=name,
                    is_frame=video is not None,
                )
            )
        except UnsafePathError:
            continue
    return out


def _descriptors(
    boxes: list[ObjectBox], paths: dict[int, str], settings: CropSettings, check: Check
) -> tuple[list[int], list[np.ndarray]]:
    ids: list[int] = []
    rows: list[np.ndarray] = []
    by_sample: dict[int, list[ObjectBox]] = {}
    for box in boxes:
        if min(box.w, box.h) >= settings.min_size and box.sample_id in paths:
            by_sample.setdefault(box.sample_id, []).append(box)
    for n, (sample_id, group) in enumerate(by_sample.items()):
        if n % 50 == 0:
            check()
        try:
            with Image.open(paths[sample_id]) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # no pixels: these objects get no vector
        for box in group:
            crop = object_crop(image, (box.x, box.y, box.w, box.h), settings.padding)
            if crop.width == 0 or crop.height == 0:
                continue
            ids.append(box.annotation_id)
            rows.append(image_descriptor(crop))
    return ids, rows


def object_embeddings_compute(
    *, task: AnnotationTask, settings: CropSettings | None = None, check: Check = _noop
) -> EmbeddingSpace:
    """Compute and store the crop embeddings of every box of ``task`` as ``crops:<task>``."""
    settings = settings or CropSettings()
    boxes = task_boxes(task)
    ids, rows = _descriptors(boxes, _sample_paths(task), settings, check)
    if not ids:
        raise ObjectEmbeddingError(
            f"task {task.name!r}: no box could be cropped (no readable image, or every box is "
            f"smaller than {settings.min_size} pixels)."
        )
    matrix = descriptors_reduce(np.stack(rows))
    return embedding_space_store(
        dataset=task.dataset,
        name=object_space_name(task, computed=True),
        matrix=matrix,
        sample_ids=np.asarray(ids, dtype=np.int64),
        normalize=True,
        task=task,
        source={
            "kind": "computed",
            "padding": settings.padding,
            "min_size": settings.min_size,
            "boxes": boxes_fingerprint(boxes),
        },
    )


def object_space_stale(space: EmbeddingSpace) -> bool:
    """A computed space whose boxes changed since it was computed (imported ones never are)."""
    source = space.source or {}
    if source.get("kind") != "computed" or space.task is None:
        return False
    return bool(source.get("boxes") != boxes_fingerprint(task_boxes(space.task)))


def object_space_current(
    *, task: AnnotationTask, name: str | None = None, check: Check = _noop
) -> EmbeddingSpace:
    """The task's object space ``name`` (default: the computed one), computed now when it is
    missing or its boxes changed (with the settings it was computed with)."""
    name = name or object_space_name(task, computed=True)
    space = EmbeddingSpace.all_spaces.filter(task=task, name=name).first()
    if space is not None and not object_space_stale(space):
        return space
    source = space.source if space is not None else {}
    settings = CropSettings(
        padding=float(source.get("padding", DEFAULT_PADDING)),
        min_size=int(source.get("min_size", DEFAULT_MIN_SIZE)),
    )
    return object_embeddings_compute(task=task, settings=settings, check=check)
