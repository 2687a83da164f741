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
