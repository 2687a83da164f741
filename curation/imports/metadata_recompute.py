"""Recomputing the built-in metadata of existing samples from their files (the admin action).

The Django side of ``imports.pixel_metadata`` (which stays free of Django models so that image
worker processes can import it): reads each sample's file through the checked join, writes the
results back in one bulk update.
"""

from __future__ import annotations

from collections.abc import Iterable

from curation.imports.pixel_metadata import image_file_metadata
from curation.models import Dataset, Sample
from curation.storage.frames import sample_source_path
from curation.storage.paths import UnsafePathError


def sample_metadata_recompute(*, samples: Iterable[Sample]) -> tuple[int, list[str]]:
    """Recompute built-in metadata of ``samples`` from their files; returns (updated, failures).

    Custom metadata keys are kept; built-in keys, width, height and size are replaced. Files
    are reached through the checked join only: a name or symlink leading outside the dataset's
    image folder is a failure (with a note), never read.
    """
    updated: list[Sample] = []
    failures: list[str] = []
    roots: dict[int, str] = {}
    for sample in samples:
        if sample.dataset_id not in roots:  # one query per dataset, not per sample
            roots[sample.dataset_id] = Dataset.objects.values_list("image_root", flat=True).get(
                pk=sample.dataset_id
            )
        root = roots[sample.dataset_id]
        try:
            path = sample_source_path(  # a video frame: in the frames store
                dataset_id=sample.dataset_id,
                image_root=root,
                file_name=sample.file_name,
                is_frame=sample.video_id is not None,
            )
        except UnsafePathError as exc:
            failures.append(f"{sample.file_name}: refused, {exc.reason} (not read)")
            continue
        try:
            computed = image_file_metadata(path)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).replace(str(path), "the file")
            failures.append(f"{sample.file_name}: {reason}")
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
