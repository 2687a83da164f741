"""Dataset lifecycle: create and delete (with every file the dataset owns).

``dataset_delete`` deletes at once, for small or new datasets (an import that created its
dataset and failed); users delete through the background job of ``dataset_delete.py``, which
marks the dataset ``deleting`` first: ``dataset_refuse_if_deleting`` keeps new work off it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from curation.models import Annotation, Dataset, Sample, Score, TagSample
from curation.storage.embeddings import dataset_embedding_dir
from curation.storage.facet_files import facet_files_dir
from curation.storage.frames import frames_root
from curation.storage.paths import safe_join


class DatasetError(ValueError):
    """A dataset request that cannot be carried out; the message says why."""


def dataset_media_dir(dataset_id: int) -> Path:
    """Thumbnails and uploaded images of a dataset live below this folder (checked join)."""
    return safe_join(settings.MEDIA_ROOT, f"datasets/{int(dataset_id)}")


def dataset_create(
    *,
    name: str,
    owner: Any,
    description: str = "",
    team: Group | None = None,
    image_root: str = "",
) -> Dataset:
    """A new dataset owned by ``owner``; ``team`` must be one of the owner's teams (staff may
    share with any team)."""
    name = name.strip()
    if not name:
        raise DatasetError("A dataset needs a name.")
    if (
        team is not None
        and not getattr(owner, "is_staff", False)
        and not owner.groups.filter(pk=team.pk).exists()
    ):
        raise DatasetError(
            f"You are not a member of team {team.name!r}: share with your own teams."
        )
    if Dataset.objects.filter(name=name).exists():
        raise DatasetError(f"A dataset named {name!r} already exists: choose another name.")
    return Dataset.objects.create(
        name=name, owner=owner, description=description, team=team, image_root=image_root
    )


def dataset_refuse_if_deleting(dataset: Dataset) -> None:
    """Raise ``DatasetError`` (one sentence) when a delete job is removing the dataset."""
    if Dataset.objects.filter(pk=dataset.pk, deleting=True).exists():
        raise DatasetError(
            f"Dataset {dataset.name!r} is being deleted: it can no longer be opened or changed."
        )


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete the dataset, its rows and, once the transaction commits, its files.

    The per-sample tables are emptied with one DELETE each: Django's cascade would first load
    every sample, annotation and score into memory (minutes at a million samples).
    """
    folders = [
        dataset_embedding_dir(dataset.pk),
        dataset_media_dir(dataset.pk),
        frames_root(dataset.pk),  # its videos' frames
        facet_files_dir(dataset.pk),  # its facet index
    ]
    with transaction.atomic():
        for queryset in (
            TagSample.objects.filter(sample__dataset=dataset),
            Annotation.objects.filter(sample__dataset=dataset),
            Score.objects.filter(sample__dataset=dataset),
            Sample.objects.filter(dataset=dataset),
        ):
            queryset._raw_delete(queryset.db)
        dataset.delete()
        transaction.on_commit(lambda: _remove_folders(folders))


def _remove_folders(folders: list[Path]) -> None:
    """Remove the dataset's own folders; a folder that is (or has become) a symlink is left
    alone, and ``rmtree`` never follows links inside them."""
    for folder in folders:
        if not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
