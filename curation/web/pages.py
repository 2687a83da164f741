"""Helpers shared by the HTML views: the typed htmx request and :func:`render_page`.

One URL per page: an htmx request gets the page's ``{% partialdef %}`` fragment
(``"page.html#fragment"``), anything else — a plain request, a boosted link or form, which
navigates to a whole page — gets the whole page. Views name the fragment; they never build
``template + "#…"`` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """An ``HttpRequest`` as django-htmx's middleware leaves it (for type checkers)."""

    htmx: HtmxDetails


def page_partial(
    request: HtmxRequest, partial: str | None, *, target: str | None = None
) -> str | None:
    """The fragment an htmx request wants, or None for the whole page.

    ``target`` limits the fragment to requests whose ``hx-target`` is that element id (a page
    with several htmx regions); boosted requests always get the whole page.
    """
    htmx = getattr(request, "htmx", None)
    if partial is None or not htmx or htmx.boosted:
        return None
    if target is not None and htmx.target != target:
        return None
    return partial


def render_page(
    request: HtmxRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    partial: str | None = None,
    target: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template#partial`` for an htmx request and ``template`` otherwise."""
    name = page_partial(request, partial, target=target)
    chosen = f"{template}#{name}" if name else template
    return render(request, chosen, dict(context), status=status)
