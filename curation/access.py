"""Who may see and change what. Every view, API view and consumer goes through these helpers.

A dataset is visible to its owner, to members of its team, and to staff. Team members may write
(tags, runs, imports); deleting a dataset is for its owner and staff. Objects a user may not see
are answered with 404, never 403, so their existence does not leak.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from curation.models import Dataset, SelectionRun, StrategyPreset

UserLike = Any  # a User, an AnonymousUser, or whatever a scope carries


def datasets_visible_to(user: UserLike) -> QuerySet[Dataset]:
    if not getattr(user, "is_authenticated", False):
        return Dataset.objects.none()
    if user.is_staff:
        return Dataset.objects.all()
    return Dataset.objects.filter(Q(owner=user) | Q(team__user=user)).distinct()


def can_delete_dataset(user: UserLike, dataset: Dataset) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_staff or dataset.owner_id == user.pk
    )


def get_dataset_for_user(user: UserLike, pk: Any, *, delete: bool = False) -> Dataset:
    """The dataset with this primary key if ``user`` may see it (and delete it), else 404."""
    try:
        dataset = datasets_visible_to(user).get(pk=pk)
    except (Dataset.DoesNotExist, ValueError, TypeError):
        raise Http404("No such dataset.") from None
    if delete and not can_delete_dataset(user, dataset):
        raise Http404("No such dataset.")
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
