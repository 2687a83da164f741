"""The "create token" form on ``/account/tokens/``: the name only; ``api_token_create``
checks it and its ``TokenError`` is shown next to the field."""

from __future__ import annotations

from django import forms


class TokenCreateForm(forms.Form):
    name = forms.CharField(required=False, strip=False)

    def typed_name(self) -> str:
        return str(self["name"].value() or "") if self.is_bound else ""
