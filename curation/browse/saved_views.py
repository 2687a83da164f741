"""Saved views: a named filter of a dataset (conditions and a ``text=`` / ``similar_to=``
order), private to its owner or shared with the dataset's team; ``view=NAME`` in the filter
language of the browser and of the API's sample list.

Reads: ``saved_views_visible`` (the user's own views and the shared ones of a dataset the user
may already see: callers check the dataset first), ``saved_view_for_user`` (404 for a view the
user may not see, 403 for a change by anyone but its owner or staff) and ``saved_view_expand``
(replaces ``view=NAME`` by the view's parameters: the user's own view of that name first, else
the oldest shared one; further parameters refine it; ``sample_filter_for_user`` expands and
parses in one step for a selection run's candidates). Writes (``saved_view_create`` /
``_update`` / ``_delete``) are keyword-only and atomic; a view stores the canonical query
string of a filter that parses, never a ``view=`` of its own. Errors are one sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from curation.filters import FilterError, SampleFilter, filter_pairs
from curation.models import Dataset, SavedView

VIEW_PARAM = "view"
MAX_NAME = 100


class SavedViewError(ValueError):
    """A saved view that cannot be written; the message says why."""


def saved_views_visible(*, dataset: Dataset, user: Any) -> QuerySet[SavedView]:
    if not getattr(user, "is_authenticated", False):
        return SavedView.objects.none()
    visible = Q(owner=user) | Q(visibility=SavedView.Visibility.TEAM)
    return SavedView.objects.filter(visible, dataset=dataset).select_related("owner")


def saved_view_for_user(*, dataset: Dataset, user: Any, pk: Any, write: bool = False) -> SavedView:
    try:
        view = saved_views_visible(dataset=dataset, user=user).get(pk=pk)
    except (SavedView.DoesNotExist, ValueError, TypeError):
        raise Http404("No such saved view.") from None
    if write and not (user.is_staff or view.owner_id == user.pk):
        raise PermissionDenied("Only the owner of this saved view may change or delete it.")
    return view


def saved_view_expand(
    *, dataset: Dataset, user: Any, pairs: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """``pairs`` with every ``view=NAME`` replaced by that view's parameters."""
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        if key != VIEW_PARAM or not value.strip():
            out.append((key, value))
            continue
        name = value.strip()
        views = saved_views_visible(dataset=dataset, user=user).filter(name=name)
        view = views.filter(owner=user).first() or views.order_by("pk").first()
        if view is None:
            raise FilterError(
                f"Filter parameter view={name!r}: dataset {dataset.name!r} has no saved view "
                "of that name that you may use."
            )
        out += parse_qsl(view.query, keep_blank_values=False)
    return out


def sample_filter_for_user(
    *,
    dataset: Dataset,
    user: Any,
    source: str | Mapping[str, Any] | Iterable[tuple[str, str]],
) -> SampleFilter:
    """``source`` (a query string, a mapping or pairs) parsed, each ``view=NAME`` replaced by
    the saved view ``user`` may use: the filter of a selection run's candidates (the API, the
    selection dialog, ``manage.py select --where``). Raises ``FilterError`` (one sentence)."""
    return SampleFilter.parse(
        saved_view_expand(dataset=dataset, user=user, pairs=filter_pairs(source))
    )


def _name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise SavedViewError(f"A saved view needs a name of 1 to {MAX_NAME} printable characters.")
    return name


def _query(sample_filter: SampleFilter) -> str:
    if sample_filter.is_empty:
        raise SavedViewError("This filter is empty: choose some conditions before saving it.")
    return sample_filter.to_querystring()


def _saved(view: SavedView) -> SavedView:
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:
        raise SavedViewError(
            f"You already have a saved view named {view.name!r} in this dataset."
        ) from None
    return view


def saved_view_create(
    *,
    dataset: Dataset,
    owner: Any,
    name: str,
    sample_filter: SampleFilter,
    visibility: str = SavedView.Visibility.PRIVATE,
) -> SavedView:
    if visibility not in SavedView.Visibility.values:
        raise SavedViewError("Visibility must be private or team.")
    view = SavedView(
        dataset=dataset,
        owner=owner,
        name=_name(name),
        query=_query(sample_filter),
        visibility=visibility,
    )
    return _saved(view)


def saved_view_update(
    *,
    view: SavedView,
    name: str | None = None,
    sample_filter: SampleFilter | None = None,
    visibility: str | None = None,
) -> SavedView:
    if name is not None:
        view.name = _name(name)
    if sample_filter is not None:
        view.query = _query(sample_filter)
    if visibility is not None:
        if visibility not in SavedView.Visibility.values:
            raise SavedViewError("Visibility must be private or team.")
        view.visibility = visibility
    return _saved(view)


def saved_view_delete(*, view: SavedView) -> None:
    view.delete()
