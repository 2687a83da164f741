"""Forms of the objects pages: the grid's filter (task, label, tag, padding, cursor) and a crop's
padding. Names are resolved against the dataset by the selectors; a value none of our pages
sends (a cursor that is not a number, a padding not offered) is a 400 with one sentence."""

from __future__ import annotations

from typing import Any

from django import forms

from curation.objects.crops import DEFAULT_PADDING, PADDINGS
from curation.web.errors import BadInput

PADDING_CHOICES = [(p, "none" if p == "0" else f"{float(p):.0%}") for p in PADDINGS]


def _first_error(form: forms.Form) -> str:
    return next((f"{k}: {e}" for k, errors in form.errors.items() for e in errors), "")


class CropForm(forms.Form):
    """``?padding=`` of a crop: one of ``PADDINGS`` (a fraction of the box on every side)."""

    padding = forms.ChoiceField(choices=PADDING_CHOICES, required=False)

    def chosen_padding(self) -> str:
        """The padding asked for (the default when left out); ``BadInput`` for another value."""
        if not self.is_valid():
            offered = ", ".join(PADDINGS)
            raise BadInput(f"The padding must be one of {offered} (a fraction of the box).")
        return str(self.cleaned_data.get("padding") or DEFAULT_PADDING)


class ObjectGridForm(CropForm):
    """The grid's query string: ``task``, ``label`` and ``tag`` (names, blank = any), the crops'
    ``padding`` and ``after`` (the last annotation id of the previous page)."""

    task = forms.CharField(required=False, max_length=200)
    label = forms.CharField(required=False, max_length=200)
    tag = forms.CharField(required=False, max_length=200)
    after = forms.IntegerField(required=False, min_value=0)

    def filters(self) -> dict[str, Any]:
        """The cleaned filter; ``BadInput`` (400, one sentence) for input no page sends."""
        if not self.is_valid():
            raise BadInput(f"The objects filter could not be read ({_first_error(self)}).")
        data = self.cleaned_data
        return {
            "task": data["task"] or "",
            "label": data["label"] or "",
            "tag": data["tag"] or "",
            "padding": data["padding"] or DEFAULT_PADDING,
            "after": data["after"] or 0,
        }


class PickOrderForm(forms.Form):
    """``?start=`` of a page of an objects tag in pick order (the first rank to show, from 0)."""

    start = forms.IntegerField(required=False, min_value=0)

    def chosen_start(self) -> int:
        if not self.is_valid():
            raise BadInput("The start of the page must be a whole number, 0 or more.")
        return int(self.cleaned_data.get("start") or 0)
