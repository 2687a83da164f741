"""``manage.py import_dataset NAME --images DIR [...]``: load a dataset in one all-or-nothing step
(object embeddings included: ``--object-embeddings FILE --task NAME``).

The CLI may read any path the operator names (imports from the web or the API are restricted to
``CURATION_IMPORT_ROOTS``).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from curation.datasets.services import DatasetError
from curation.imports.inline import dataset_import_inline
from curation.imports.services import EMBED_CHOICES, IngestError
from curation.jobs.services import JobError
from curation.management.objects_options import (
    add_object_arguments,
    object_import_options,
    objects_import,
    wants_objects,
)
from curation.storage.embeddings import EmbeddingError
from curation.storage.paths import UnsafePathError


class Command(BaseCommand):
    help = (
        "Create the dataset NAME if absent (or add to it) from a folder of images and videos "
        "(mp4, mov, mkv, avi, webm: 1 frame per second by default) and files from other tools: "
        "embeddings, metadata, annotations and predictions. Nothing is written when any check "
        "fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Dataset name (created if absent).")
        parser.add_argument("--images", help="Folder of images and videos (searched recursively).")
        parser.add_argument(
            "--embeddings", help="Lightly embeddings .csv, .npy (with file names) or .parquet."
        )
        parser.add_argument(
            "--embedding-filenames",
            help="File names of the .npy rows: .txt (one a line) or .json list. Default: the "
            "sidecar X.filenames.txt / X.filenames.json next to X.npy.",
        )
        parser.add_argument("--embedding-name", default="default", help="Embedding space name.")
        parser.add_argument(
            "--raw-embeddings",
            action="store_true",
            help="Keep the vectors as they are instead of unit-normalising them.",
        )
        parser.add_argument(
            "--samples-from-embeddings",
            action="store_true",
            help="Create samples (without pixels) for embedding file names that match no image.",
        )
        parser.add_argument("--metadata", help="Metadata .csv (file_name column) or .jsonl.")
        parser.add_argument(
            "--annotations",
            help="Ground truth: COCO .json, classification .csv or a YOLO folder (data.yaml).",
        )
        parser.add_argument(
            "--predictions",
            action="append",
            default=[],
            help="Predictions: a Lightly predictions folder, a YOLO folder, a COCO file or "
            "results list, or a classification .csv. Repeat for several.",
        )
        parser.add_argument(
            "--prediction-task", help="Task name for the predictions (default: the file name)."
        )
        parser.add_argument(
            "--coco-reference",
            help="COCO file that a COCO results list refers to (default: --annotations).",
        )
        parser.add_argument(
            "--embed",
            choices=EMBED_CHOICES,
            default="auto",
            help="Built-in descriptor embedding ('builtin' space): auto = when images come "
            "without embeddings and the dataset has no other space; always; never.",
        )
        rate = parser.add_mutually_exclusive_group()
        rate.add_argument(
            "--video-every",
            type=int,
            metavar="K",
            help="Videos in --images: keep every K-th decoded frame as a sample.",
        )
        rate.add_argument(
            "--video-fps",
            type=float,
            metavar="N",
            help="Videos in --images: keep N frames per second of video as samples "
            "(default: 1, i.e. --video-fps 1).",
        )
        add_object_arguments(parser)
        parser.add_argument("--workers", type=int, help="Image worker processes (default: CPUs).")
        parser.add_argument("--owner", help="Owner of a new dataset (default: the first admin).")

    def handle(self, *args: Any, **options: Any) -> None:
        if (
            not any(options[key] for key in ("images", "embeddings", "metadata", "annotations"))
            and not options["predictions"]
        ):
            if wants_objects(options):  # object embeddings alone, into an existing dataset
                self.stdout.write(objects_import(options))
                return
            raise CommandError("Nothing to import: pass --images, --embeddings, --metadata, ...")
        owner = self._owner(options["owner"])
        bar = _ProgressBar(self.stdout) if options["verbosity"] > 0 else None
        try:
            summary = dataset_import_inline(  # a job, all or nothing even if killed
                name=options["name"],
                owner=owner,
                images=options["images"],
                embeddings=options["embeddings"],
                embedding_filenames=options["embedding_filenames"],
                embedding_name=options["embedding_name"],
                normalize_embeddings=not options["raw_embeddings"],
                samples_from_embeddings=options["samples_from_embeddings"],
                metadata=options["metadata"],
                annotations=options["annotations"],
                predictions=options["predictions"],
                prediction_task=options["prediction_task"],
                coco_reference=options["coco_reference"],
                embed=options["embed"],
                video_every=options["video_every"],
                video_fps=options["video_fps"],
                workers=options["workers"],
                progress=bar.update if bar else None,
                restrict_to_import_roots=False,
                user=owner,
                **object_import_options(options),  # in the same transaction: all or nothing
            )
        except (IngestError, DatasetError, EmbeddingError, UnsafePathError, JobError) as exc:
            if bar:
                bar.finish()
            raise CommandError(f"error: {exc}") from None
        if bar:
            bar.finish()
        self.stdout.write("\n".join(summary.lines()))
        if options["compute_object_embeddings"] and not options["object_embeddings"]:
            self.stdout.write(objects_import(options))  # from the crops: needs the pixels first

    def _owner(self, username: str | None) -> Any:
        User = get_user_model()
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"error: no user named {username!r}: create it or omit --owner.")
            return user
        user = User.objects.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError(
                "error: no admin account exists to own the dataset: run `manage.py ensure_admin` "
                "or pass --owner USERNAME."
            )
        return user


class _ProgressBar:
    """A one-line terminal progress bar (redrawn at most ten times a second)."""

    WIDTH = 30

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.last = 0.0
        self.shown = False
        self.tty = getattr(sys.stdout, "isatty", lambda: False)()

    def update(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        filled = self.WIDTH * done // max(total, 1)
        line = f"{stage} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
        if self.tty:
            self.stream.write(f"\r{line}", ending="")
            self.stream.flush()
        elif done == total:
            self.stream.write(line)
        self.shown = True

    def finish(self) -> None:
        if self.shown and self.tty:
            self.stream.write("")
