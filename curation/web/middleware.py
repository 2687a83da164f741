"""Request hygiene before any view runs: bad input is a 400 with one sentence, never a 500.

``RefuseNulMiddleware`` answers a NUL character (U+0000) anywhere in a page's query string (names
and values), form fields or uploaded file names with 400: no database text column (PostgreSQL's
least of all) stores it, and no real user types it. The API (CSRF-exempt DRF views) is left to
DRF, which names the field: ``CurationAPIView`` checks query strings, the JSON parser and DRF's
fields refuse NUL in bodies; its form bodies are never read here (that would fix their upload
handlers early).

Responses below ``/api/`` are ``{"detail": "..."}`` JSON; pages get a small HTML page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse

from curation.web.errors import bad_request

NUL_MESSAGE = (
    "The request contains a NUL character (\\0), which no field accepts: remove it and try again."
)


def _has_nul(pairs: Iterable[tuple[str, list[Any]]]) -> bool:
    for key, values in pairs:
        if "\x00" in key:
            return True
        for value in values:
            text = value if isinstance(value, str) else getattr(value, "name", "") or ""
            if "\x00" in text:
                return True
    return False


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        if getattr(view_func, "csrf_exempt", False):
            return None  # the API: CurationAPIView, its parser and DRF's fields say which field
        if _has_nul(request.GET.lists()):
            return bad_request(request, NUL_MESSAGE)
        if request.method == "POST" and (
            _has_nul(request.POST.lists()) or _has_nul(request.FILES.lists())
        ):
            return bad_request(request, NUL_MESSAGE)
        return None
