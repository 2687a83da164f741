"""What an import did: ``ImportSummary``, filled in as the import runs and returned by
``dataset_import`` (its ``lines`` are what ``manage.py import_dataset`` prints and a job keeps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from curation.models import Dataset


@dataclass
class ImportSummary:
    dataset: Dataset
    created: bool = False
    images_added: int = 0
    images_updated: int = 0  # samples that had no pixels and now have them
    images_skipped: int = 0  # already in the dataset
    images_failed: list[tuple[str, str]] = field(default_factory=list)
    samples_without_pixels: int = 0  # created from an embeddings file
    videos_added: int = 0
    video_frames: int = 0  # frame samples of the added videos (not counted as images)
    videos_skipped: int = 0  # already in the dataset
    unsupported: list[str] = field(default_factory=list)  # files neither image nor video
    metadata_rows: int = 0
    embeddings: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (rows, dim)
    object_embeddings: dict[str, tuple[int, int]] = field(default_factory=dict)  # (objects, dim)
    annotations: dict[str, int] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for benchmarks

    def lines(self) -> list[str]:
        out = [
            f"Dataset {self.dataset.name!r} ({'created' if self.created else 'existing'}).",
            f"Images: {self.images_added} added, {self.images_skipped} skipped (already there), "
            f"{len(self.images_failed)} failed"
            + (f", {self.images_updated} given pixels" if self.images_updated else "")
            + ".",
        ]
        out += [f"  failed: {name}: {reason}" for name, reason in self.images_failed[:20]]
        if len(self.images_failed) > 20:
            out.append(f"  ... and {len(self.images_failed) - 20} more")
        if self.videos_added or self.videos_skipped:
            out.append(
                f"Videos: {self.videos_added} added ({self.video_frames} frames), "
                f"{self.videos_skipped} skipped (already there)."
            )
        if self.unsupported:
            more = len(self.unsupported) - 20
            out.append(
                f"Skipped {len(self.unsupported)} unsupported file(s): "
                + ", ".join(self.unsupported[:20])
                + (f" and {more} more." if more > 0 else ".")
            )
        if self.samples_without_pixels:
            out.append(f"Samples created from embedding file names: {self.samples_without_pixels}.")
        for name, (rows, dim) in self.embeddings.items():
            out.append(f"Embeddings {name!r}: {rows} x {dim}.")
        for name, (rows, dim) in self.object_embeddings.items():
            out.append(f"Object embeddings {name!r}: {rows} objects x {dim}.")
        if self.metadata_rows:
            out.append(f"Metadata: {self.metadata_rows} samples.")
        for task, count in self.annotations.items():
            scores = self.scores.get(task)
            extra = f", {scores} scores" if scores else ""
            out.append(f"Annotations {task!r}: {count}{extra}.")
        for tag, count in self.tags.items():
            out.append(f"Tag {tag!r}: +{count} samples.")
        out += self.notes
        out.append(f"Time: {self.seconds:.1f} s.")
        return out
