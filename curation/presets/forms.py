"""Forms of the preset library: the search above the list and "import a pasted config".

The import form only carries the text; ``preset_import`` parses and checks it and its
``PresetError`` is added to the field it names (``config`` errors at the top of the form).
"""

from __future__ import annotations

from typing import Any

from django import forms

SCOPES = (("all", "All"), ("mine", "Mine"), ("team", "My teams"), ("public", "Public"))
_IMPORT_FIELDS = ("name", "visibility", "config_text")


class PresetSearchForm(forms.Form):
    """``?q=&scope=&page=`` of the list; anything unreadable means "all presets"."""

    q = forms.CharField(required=False)
    scope = forms.ChoiceField(choices=SCOPES, required=False)
    page = forms.CharField(required=False)

    def values(self) -> dict[str, str]:
        self.is_valid()
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return {
            "q": str(data.get("q") or ""),
            "scope": str(data.get("scope") or "all"),
            "page": str(data.get("page") or ""),
        }


class PresetImportForm(forms.Form):
    name = forms.CharField(required=False, strip=False)
    description = forms.CharField(required=False, strip=False)
    visibility = forms.CharField(required=False, initial="private")
    config_text = forms.CharField(required=False, strip=False, widget=forms.Textarea)

    def values(self) -> dict[str, str]:
        """Every field as typed (the initial values before the first post)."""
        out = {}
        for name, field in self.fields.items():
            value = self[name].value() if self.is_bound else field.initial
            out[name] = str(value or "")
        out["visibility"] = out["visibility"] or "private"
        return out

    def add_service_error(self, field: str | None, message: str) -> None:
        """A ``PresetError`` next to its field; anything else is about the whole config."""
        self.add_error(field if field in _IMPORT_FIELDS else None, message)
