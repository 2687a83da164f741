"""Labels over images: boxes and classification chips of the chosen tasks, one colour per class.

The browser's URL names the tasks drawn over the thumbnails (``boxes=TASK[,TASK…]``; absent:
ground truth; ``boxes=none``: nothing); it is display state, not part of the filter. For one
page of samples the annotations of those tasks are read in ONE query (never one per sample).

Invariants: a class has the same colour on every page and in every process (the hue comes
from a CRC-32 of its name, not Python's salted ``hash``); colours are SVG attribute values
(``hsl(…)``), so pages need no inline style (the Content-Security-Policy forbids it). Boxes
are in image pixels (the thumbnail's SVG has the image's ``viewBox``, as ``object-fit:
contain`` places the image) and, for the sample page, in percent of the image so that label
text keeps a fixed font size at any image size. Reads only.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from curation.models import Annotation, AnnotationTask, Sample

MAX_BOXES_PER_SAMPLE = 50
NO_BOXES = "none"


def class_colour(label: str) -> str:
    """A stable, readable colour for a class name (same on every page and process)."""
    digest = zlib.crc32(label.encode("utf-8"))
    hue = digest % 360
    lightness = 38 + (digest >> 9) % 3 * 8  # 38, 46 or 54: neighbours in hue still differ
    return f"hsl({hue}, 80%, {lightness}%)"


@dataclass(frozen=True)
class Box:
    label: str
    colour: str
    x: float
    y: float
    w: float
    h: float
    prediction: bool
    score: float | None
    task: str
    # percent of the image (the sample page: fixed-size text over a scaled image)
    px: float = 0.0
    py: float = 0.0
    pw: float = 0.0
    ph: float = 0.0


@dataclass
class Overlay:
    boxes: list[Box] = field(default_factory=list)
    chips: list[tuple[str, str, str]] = field(default_factory=list)  # (task, label, colour)


def overlay_tasks(raw: Iterable[str], tasks: list[AnnotationTask]) -> list[str]:
    """The task names to draw from the URL's ``boxes`` values (comma-separated, repeatable):
    none given means ground truth; ``none`` alone means nothing; unknown names are ignored."""
    names = [n.strip() for value in raw for n in value.split(",") if n.strip()]
    known = [t.name for t in tasks]
    if not names:
        return [AnnotationTask.GROUND_TRUTH] if AnnotationTask.GROUND_TRUTH in known else []
    return [name for name in known if name in names]


def legend(tasks: list[AnnotationTask], chosen: list[str]) -> list[tuple[str, str]]:
    """(class, colour) of every category of the chosen tasks, in order, without repeats."""
    labels = [str(c) for t in tasks if t.name in chosen for c in (t.categories or [])]
    return [(label, class_colour(label)) for label in dict.fromkeys(labels)]


def page_overlays(
    samples: list[Sample], tasks: list[AnnotationTask], chosen: list[str]
) -> dict[int, Overlay]:
    """Overlays of the page's samples for the chosen tasks: one query for the whole page."""
    task_by_id = {t.pk: t for t in tasks if t.name in chosen}
    if not samples or not task_by_id:
        return {}
    sizes = {s.pk: (s.width, s.height) for s in samples}
    rows = (
        Annotation.objects.filter(sample_id__in=list(sizes), task_id__in=list(task_by_id))
        .order_by("sample_id", "task_id", "pk")
        .values_list("sample_id", "task_id", "label", "x", "y", "w", "h", "score")
    )
    found: dict[int, Overlay] = {}
    for sample_id, task_id, label, x, y, w, h, score in rows:
        overlay = found.setdefault(sample_id, Overlay())
        task = task_by_id[task_id]
        if x is None or y is None or w is None or h is None:
            overlay.chips.append((task.name, label, class_colour(label)))
        elif len(overlay.boxes) < MAX_BOXES_PER_SAMPLE:
            overlay.boxes.append(_box(task, label, (x, y, w, h), score, sizes[sample_id]))
    return found


def sample_boxes(annotations: list[Annotation], width: int | None, height: int | None) -> list[Box]:
    """The sample page's boxes (every task), with percent coordinates."""
    return [
        _box(a.task, a.label, a.bbox, a.score, (width, height))
        for a in annotations
        if a.bbox is not None
    ]


def _box(
    task: AnnotationTask,
    label: str,
    bbox: tuple[float, float, float, float],
    score: float | None,
    size: tuple[int | None, int | None],
) -> Box:
    x, y, w, h = bbox
    width, height = size
    sx = 100.0 / width if width else 0.0
    sy = 100.0 / height if height else 0.0
    return Box(
        label=label,
        colour=class_colour(label),
        x=x, y=y, w=w, h=h,
        prediction=task.name != AnnotationTask.GROUND_TRUTH,
        score=score,
        task=task.name,
        px=round(x * sx, 3), py=round(y * sy, 3), pw=round(w * sx, 3), ph=round(h * sy, 3),
    )  # fmt: skip
