"""Forms of the tag pages: the tag list's actions (create from the checked samples or the
browser's filter, add/remove checked samples, add a filter, combine tags) and rename.

The forms read and check what the pages send; ``curation.tags.services`` decides. A tag id
that none of our pages would send (not a number) is ``BadInput`` (HTTP 400, one
sentence, from ``parse_id``), as everywhere else; every other mistake is a one-sentence form error.
"""

from __future__ import annotations

from typing import Any

from django import forms

from curation.filters import FilterError, SampleFilter
from curation.web.errors import parse_id

ACTIONS = (
    "create_checked",
    "create_filter",
    "add_checked",
    "add_filter",
    "remove_checked",
    "combine",
)
CHECKED_ACTIONS = ("create_checked", "add_checked", "remove_checked")
TAG_ACTIONS = ("add_checked", "add_filter", "remove_checked")
SAMPLES_UNREADABLE = "The checked samples could not be read: reload the page."
UNKNOWN_ACTION = "Unknown tag action: reload the page and try again."


class TagActionForm(forms.Form):
    action = forms.CharField(required=False)
    name = forms.CharField(required=False, strip=False)
    filter = forms.CharField(required=False, strip=False)
    tag = forms.CharField(required=False)
    operation = forms.CharField(required=False)
    next = forms.CharField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data: Any = self.data  # a QueryDict: the checked samples and tags are lists
        self.samples_raw: list[str] = list(data.getlist("sample")) if self.is_bound else []
        self.tags_raw: list[str] = list(data.getlist("tags")) if self.is_bound else []

    def tag_ids(self) -> tuple[int | None, list[int]]:
        """The ``tag`` and ``tags`` ids; :class:`BadInput` (400) when one is not a number."""
        action = str(self.data.get("action", ""))
        tag = parse_id(self.data.get("tag"), "tag") if action in TAG_ACTIONS else None
        tags = [parse_id(v, "tag") for v in self.tags_raw] if action == "combine" else []
        return tag, tags

    def clean_action(self) -> str:
        action = str(self.cleaned_data.get("action") or "")
        if action not in ACTIONS:
            raise forms.ValidationError(UNKNOWN_ACTION)
        return action

    def clean_filter(self) -> SampleFilter:
        try:
            return SampleFilter.parse(self.cleaned_data.get("filter") or "")
        except FilterError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["sample_ids"] = []
        if data.get("action") in CHECKED_ACTIONS:
            values = self.samples_raw
            if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in values):
                raise forms.ValidationError(SAMPLES_UNREADABLE)
            data["sample_ids"] = [int(v) for v in values]
            if data["action"] == "create_checked" and not values:
                raise forms.ValidationError(
                    "Check at least one sample first (shift-click selects a range)."
                )
        data["tag_id"], data["tag_ids"] = self.tag_ids()
        return data

    def first_error(self) -> str:
        for errors in self.errors.values():
            return str(errors[0])
        return ""


class TagRenameForm(forms.Form):
    """The new name; ``tag_rename`` checks it (the error is shown next to the field)."""

    name = forms.CharField(required=False, strip=False)
