"""Who may see and change what. Every view, API view and consumer goes through these helpers.

A dataset is visible to its owner, to members of its team, and to staff. Team members may write
(tags, runs, imports); deleting a dataset is for its owner and staff. Objects a user may not see
are answered with 404, never 403, so their existence does not leak. A dataset being deleted
(``Dataset.deleting``, a delete job runs) is left out of every list and refused with one
sentence (409) by ``get_dataset_for_user``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from curation.models import Dataset, SelectionRun, StrategyPreset
from curation.web.errors import BadInput

UserLike = Any  # a User, an AnonymousUser, or whatever a scope carries


class DatasetDeleting(BadInput):
    """The dataset is being deleted by a background job: refused with one sentence (409)."""

    status_code = 409

    def __init__(self, dataset: Dataset) -> None:
        job = dataset.jobs.filter(kind="delete").order_by("-pk").values_list("pk", flat=True)
        which = f" (job {job[0]})" if job else ""
        super().__init__(
            f"Dataset {dataset.name!r} is being deleted{which}: it can no longer be opened or "
            "changed."
        )


def datasets_visible_to(user: UserLike, *, include_deleting: bool = False) -> QuerySet[Dataset]:
    """Datasets the user may see; those being deleted are left out unless ``include_deleting``."""
    if not getattr(user, "is_authenticated", False):
        return Dataset.objects.none()
    datasets = Dataset.objects.all() if include_deleting else Dataset.objects.filter(deleting=False)
    if user.is_staff:
        return datasets
    return datasets.filter(Q(owner=user) | Q(team__user=user)).distinct()


def can_delete_dataset(user: UserLike, dataset: Dataset) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_staff or dataset.owner_id == user.pk
    )


def get_dataset_for_user(
    user: UserLike, pk: Any, *, delete: bool = False, allow_deleting: bool = False
) -> Dataset:
    """The dataset with this primary key if ``user`` may see it (and delete it), else 404.

    A dataset being deleted raises ``DatasetDeleting`` (409, one sentence) unless ``delete`` or
    ``allow_deleting`` is set (deleting it again, e.g. after a cancelled or failed delete job).
    """
    try:
        dataset = datasets_visible_to(user, include_deleting=True).get(pk=pk)
    except (Dataset.DoesNotExist, ValueError, TypeError):
        raise Http404("No such dataset.") from None
    if delete and not can_delete_dataset(user, dataset):
        raise Http404("No such dataset.")
    if dataset.deleting and not (delete or allow_deleting):
        raise DatasetDeleting(dataset)
    return dataset


def get_run_for_user(user: UserLike, pk: Any) -> SelectionRun:
    try:
        return SelectionRun.objects.select_related("dataset").get(
            pk=pk, dataset__in=datasets_visible_to(user)
        )
    except (SelectionRun.DoesNotExist, ValueError, TypeError):
        raise Http404("No such selection run.") from None


def presets_visible_to(user: UserLike) -> QuerySet[StrategyPreset]:
    if not getattr(user, "is_authenticated", False):
        return StrategyPreset.objects.none()
    visible = (
        Q(owner=user)
        | Q(visibility=StrategyPreset.Visibility.PUBLIC)
        | Q(visibility=StrategyPreset.Visibility.TEAM, team__user=user)
    )
    return StrategyPreset.objects.filter(visible).distinct()


def get_preset_for_user(user: UserLike, pk: Any, *, write: bool = False) -> StrategyPreset:
    """A preset the user may see; with ``write`` only the owner (or staff) qualifies."""
    try:
        preset = presets_visible_to(user).get(pk=pk)
    except (StrategyPreset.DoesNotExist, ValueError, TypeError):
        raise Http404("No such preset.") from None
    if write and not (user.is_staff or preset.owner_id == user.pk):
        raise PermissionDenied("Only the owner of this preset may change or delete it.")
    return preset
