"""Helpers shared by the HTML views."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """An ``HttpRequest`` as django-htmx's middleware leaves it (for type checkers)."""

    htmx: HtmxDetails
