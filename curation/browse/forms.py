"""Forms of the browsing pages: adding a sample to a tag (or removing it) on its page."""

from __future__ import annotations

from typing import Any

from django import forms

from curation.web.errors import parse_id


class SampleTagForm(forms.Form):
    """``action`` add (default) or remove; ``name`` a tag to add to (created if new) or ``tag``
    the id of an existing one; ``filter`` the browser's filter to come back to.

    A tag id that none of our pages would send is a 400 with one sentence (``parse_id``), as
    for every id in a form."""

    action = forms.CharField(required=False)
    name = forms.CharField(required=False)
    tag = forms.CharField(required=False)
    filter = forms.CharField(required=False, strip=False)

    def clean_action(self) -> str:
        return "remove" if self.cleaned_data.get("action") == "remove" else "add"

    def clean_tag(self) -> int | None:
        raw = self.cleaned_data.get("tag") or ""
        return parse_id(raw, "tag") if raw else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "remove" and data.get("tag") is None:
            raise forms.ValidationError("Choose the tag to remove the sample from.")
        if data.get("action") == "add" and not data.get("name") and data.get("tag") is None:
            raise forms.ValidationError("A tag needs a name.")
        return data

    def first_error(self) -> str:
        return next((str(e) for errors in self.errors.values() for e in errors), "")


class FindSimilarForm(forms.Form):
    """``sample`` (repeated: the checked samples, or the sample of the page), ``space`` the
    embedding space when the dataset has several, ``filter`` the browser's filter to keep.

    The grid's "Find similar" button posts the whole tag form: its other fields are ignored.
    No sample is one sentence."""

    space = forms.CharField(required=False)
    filter = forms.CharField(required=False, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values = self.data.getlist("sample") if hasattr(self.data, "getlist") else []
        raw = [v for v in values if v.strip()]
        if not raw:
            raise forms.ValidationError("Check at least one sample, then choose Find similar.")
        data["samples"] = [parse_id(v, "sample") for v in raw]
        return data

    def first_error(self) -> str:
        return next((str(e) for errors in self.errors.values() for e in errors), "")


THUMBNAIL_SIZES = (("s", "Small"), ("m", "Medium"), ("l", "Large"))


class ThumbnailSizeForm(forms.Form):
    """The grid's thumbnail size (remembered in the user's session) and the page to go back to."""

    size = forms.ChoiceField(
        choices=THUMBNAIL_SIZES,
        error_messages={"invalid_choice": "Choose a thumbnail size: s, m or l."},
    )
    next = forms.CharField(required=False)

    def first_error(self) -> str:
        return next((str(e) for errors in self.errors.values() for e in errors), "")


class SavedViewForm(forms.Form):
    """Save the browser's current filter (``filter``, its query string) as a named view."""

    name = forms.CharField(
        max_length=100, error_messages={"required": "A saved view needs a name."}
    )
    visibility = forms.ChoiceField(
        choices=(("private", "Only me"), ("team", "The dataset's team")),
        required=False,
        error_messages={"invalid_choice": "Visibility must be private or team."},
    )
    filter = forms.CharField(required=False, strip=False)

    def first_error(self) -> str:
        return next((str(e) for errors in self.errors.values() for e in errors), "")
