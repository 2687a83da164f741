"""``manage.py export_tag NAME TAG --format F --output PATH``: hand a tag to the next tool."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from curation.formats.export import FORMAT_NAMES, FORMATS, formats_help
from curation.models import Dataset, Tag
from curation.storage.embeddings import EmbeddingError
from curation.storage.paths import UnsafePathError
from curation.tags.export import ExportError, tag_export


class Command(BaseCommand):
    help = (
        f"Export the samples of tag TAG of dataset NAME as {formats_help()} "
        "(lightly-csv: selected = in the tag); optionally copy or symlink the image files into "
        "a folder."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Dataset name.")
        parser.add_argument("tag", help="Tag name.")
        parser.add_argument(
            "--format",
            choices=FORMAT_NAMES,
            default="filenames",
            help="; ".join(f"{f.name}: {f.label}" for f in FORMATS.values()),
        )
        folders = " or ".join(f.name for f in FORMATS.values() if f.folder)
        parser.add_argument(
            "--output", required=True, help=f"Output file (a folder for --format {folders})."
        )
        parser.add_argument("--task", help="Annotation task for coco/yolo (default ground_truth).")
        parser.add_argument("--embedding-name", help="Embedding space for lightly-csv.")
        files = parser.add_mutually_exclusive_group()
        files.add_argument("--copy-to", help="Also copy the tagged image files into this folder.")
        files.add_argument("--symlink-to", help="Also symlink the tagged image files here.")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(name=options["name"]).first()
        if dataset is None:
            raise CommandError(f"error: no dataset named {options['name']!r}.")
        tag = Tag.objects.filter(dataset=dataset, name=options["tag"]).first()
        if tag is None:
            raise CommandError(f"error: dataset {dataset.name!r} has no tag {options['tag']!r}.")
        try:
            summary = tag_export(
                dataset=dataset,
                tag=tag,
                format=options["format"],
                output=options["output"],
                task=options["task"],
                embedding_name=options["embedding_name"],
                copy_to=options["copy_to"],
                symlink_to=options["symlink_to"],
            )
        except (ExportError, EmbeddingError, UnsafePathError, OSError) as exc:
            raise CommandError(f"error: {exc}") from None
        line = f"Exported {summary.samples} samples of {tag.name!r} to {summary.output}"
        if summary.annotations:
            line += f" with {summary.annotations} annotations"
        self.stdout.write(line + ".")
        if summary.files_copied or summary.files_missing:
            verb = "Linked" if options["symlink_to"] else "Copied"
            self.stdout.write(f"{verb} {summary.files_copied} files.")
        if summary.files_missing:
            self.stdout.write(
                f"{len(summary.files_missing)} files were missing: "
                + ", ".join(summary.files_missing[:5])
            )
