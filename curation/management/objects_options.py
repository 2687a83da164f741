"""The object-embeddings options of ``manage.py import_dataset``: import a file of object
vectors (``--object-embeddings FILE --task NAME``) or compute them from the crops
(``--compute-object-embeddings --task NAME``, ``--crop-padding``, ``--min-object-size``).

With images, embeddings, metadata, annotations or predictions, an ``--object-embeddings`` file
is part of that ONE import (``object_import_options``: resolved after the annotations are
written, in the same transaction; a bad row leaves nothing of the whole import). Alone, it is
its own all-or-nothing step into an existing dataset (``objects_import``). Computing from the
crops needs the pixels in place, so it always runs after the import has committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from curation.embeddings.objects import (
    DEFAULT_MIN_SIZE,
    DEFAULT_PADDING,
    CropSettings,
    ObjectEmbeddingError,
    object_embeddings_compute,
)
from curation.formats.records import IngestError
from curation.imports.objects import detection_task, object_embeddings_import
from curation.models import Dataset
from curation.storage.embeddings import EmbeddingError


def add_object_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--object-embeddings",
        help="Object embeddings of --task: .csv (filename,object_index or annotation_id, "
        "embedding_0..) or .npy with a key CSV (--object-ids or X.objects.csv).",
    )
    parser.add_argument("--object-ids", help="Key CSV of an --object-embeddings .npy file.")
    parser.add_argument(
        "--object-coco", help="The COCO file whose annotation ids the object embeddings use."
    )
    parser.add_argument(
        "--object-embedding-name", help="Object space name (default: objects:<task>)."
    )
    parser.add_argument(
        "--compute-object-embeddings",
        action="store_true",
        help="Compute object embeddings of --task from the crops (built-in embedder).",
    )
    parser.add_argument("--task", help="The detection task the objects belong to.")
    parser.add_argument(
        "--crop-padding",
        type=float,
        default=DEFAULT_PADDING,
        help=f"Crop padding, a fraction of the box size (default {DEFAULT_PADDING}).",
    )
    parser.add_argument(
        "--min-object-size",
        type=int,
        default=DEFAULT_MIN_SIZE,
        help=f"Smallest box side in pixels that gets a vector (default {DEFAULT_MIN_SIZE}).",
    )


def wants_objects(options: dict[str, Any]) -> bool:
    return bool(options.get("object_embeddings") or options.get("compute_object_embeddings"))


def object_import_options(options: dict[str, Any]) -> dict[str, Any]:
    """The ``dataset_import`` arguments of an ``--object-embeddings`` file (none without one)."""
    if not options.get("object_embeddings"):
        return {}
    return {
        "object_embeddings": options["object_embeddings"],
        "object_ids": options.get("object_ids"),
        "object_coco": options.get("object_coco"),
        "object_task": options.get("task"),
        "object_embedding_name": options.get("object_embedding_name"),
    }


def objects_import(options: dict[str, Any]) -> str:
    """Run the requested object-embeddings step; returns the summary line."""
    if not options.get("task"):
        raise CommandError("error: --task NAME names the detection task of the objects.")
    dataset = Dataset.objects.filter(name=options["name"], deleting=False).first()
    if dataset is None:
        raise CommandError(f"error: no dataset named {options['name']!r}.")
    try:
        if options.get("object_embeddings"):
            space = object_embeddings_import(
                dataset=dataset,
                task_name=options["task"],
                path=Path(options["object_embeddings"]),
                keys_path=Path(options["object_ids"]) if options.get("object_ids") else None,
                coco_path=Path(options["object_coco"]) if options.get("object_coco") else None,
                name=options.get("object_embedding_name"),
                normalize=not options.get("raw_embeddings"),
            )
        else:
            settings = CropSettings(
                padding=options["crop_padding"], min_size=options["min_object_size"]
            )
            task = detection_task(dataset, options["task"])
            space = object_embeddings_compute(task=task, settings=settings)
    except (IngestError, ObjectEmbeddingError, EmbeddingError, OSError) as exc:
        raise CommandError(f"error: {exc}") from None
    return (
        f"Object embeddings: {space.count} objects x {space.dimension} of task "
        f"{options['task']!r} as {space.name!r}."
    )
