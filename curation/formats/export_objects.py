"""Export writers of an objects tag (an object-level selection): the objects as CSV (pick
order), and their crops as image files. COCO with only the tag's objects is the ``coco`` writer
fed with those objects (``tags.export``). Pure: no Django; rows come from the export helper.

Crops are the boxes' pixels exactly (``object_crop`` with no padding), named
``<rank>_<annotation id>_<image stem>.png``; an object whose image cannot be read is listed in
``missing.txt`` instead of failing the whole export.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from PIL import Image

from curation.formats.cells import spreadsheet_safe
from curation.formats.objects import object_crop
from curation.storage.paths import UnsafePathError, safe_join

OBJECT_COLUMNS = (
    "rank",
    "annotation_id",
    "file_name",
    "task",
    "label",
    "x",
    "y",
    "width",
    "height",
    "score",
)


def write_objects_csv(path: Path, rows: Any) -> None:
    """One line per object of ``rows.objects`` (annotations in pick order); text cells are
    formula-neutralised like every CSV of the exports (``cells.spreadsheet_safe``)."""
    names = {s.pk: s.file_name for s in rows.samples}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OBJECT_COLUMNS)
        for rank, ann in enumerate(rows.objects):
            writer.writerow(
                [
                    rank,
                    ann.pk,
                    spreadsheet_safe(names.get(ann.sample_id, "")),
                    spreadsheet_safe(ann.task.name),
                    spreadsheet_safe(ann.label),
                    ann.x,
                    ann.y,
                    ann.w,
                    ann.h,
                    "" if ann.score is None else ann.score,
                ]
            )


def write_object_crops(path: Path, rows: Any) -> None:
    """A folder with one PNG per object (its box's pixels) and ``objects.csv``."""
    path.mkdir(parents=True, exist_ok=True)
    write_objects_csv(path / "objects.csv", rows)
    names = {s.pk: s.file_name for s in rows.samples}
    missing: list[str] = []
    for rank, ann in enumerate(rows.objects):
        name = names.get(ann.sample_id, "")
        try:
            source = safe_join(rows.image_root, name) if rows.image_root else None
            if source is None:
                raise OSError("no image folder")
            with Image.open(source) as opened:
                crop = object_crop(opened.convert("RGB"), (ann.x, ann.y, ann.w, ann.h), 0.0)
        except (OSError, ValueError, UnsafePathError):
            missing.append(f"{rank}\t{ann.pk}\t{name}")
            continue
        stem = Path(name).stem[:80] or "image"
        crop.save(path / f"{rank:06d}_{ann.pk}_{stem}.png", format="PNG")
    if missing:
        (path / "missing.txt").write_text("\n".join(missing) + "\n", encoding="utf-8")
