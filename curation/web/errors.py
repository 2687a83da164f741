"""Bad requests answered with one sentence: the site's ``handler400`` and the helpers views use.

A view that meets input no form of ours sends (``tag=abc``, a NUL) raises ``BadInput`` with a
sentence; Django's own refusals (a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many fields or
files) get a sentence of their own here instead of a bare "Bad Request (400)". Pages get a small
HTML page, paths below ``/api/`` a ``{"detail": "..."}`` body. Nothing here writes anything.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string


class BadInput(BadRequest):
    """Input that no page of ours sends; the message is one sentence shown to the user."""


def megabytes(size: int | None) -> str:
    return f"{(size or 0) / (1024 * 1024):.1f} MB"


def exception_sentence(exc: BaseException | None) -> tuple[int, str]:
    """The status and the sentence for a refused request."""
    if isinstance(exc, BadInput):
        return getattr(exc, "status_code", 400), str(exc)
    if isinstance(exc, RequestDataTooBig):
        return 413, (
            "The request is larger than the server accepts "
            f"({megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)} of form data or JSON): "
            "send less at a time."
        )
    if isinstance(exc, TooManyFilesSent):
        return 400, (
            f"The request sends more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files: "
            "send them in smaller batches."
        )
    if isinstance(exc, TooManyFieldsSent):
        return 400, (
            f"The request sends more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields: "
            "send fewer at a time."
        )
    return 400, "The request could not be read: reload the page and try again."


def bad_request(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    """One sentence as JSON for the API, or as a small page for the browser."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    html = render_to_string("curation/bad_request.html", {"message": message}, request=request)
    return HttpResponse(html, status=status)


def handler400(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    status, message = exception_sentence(exception)
    return bad_request(request, message, status)


def parse_id(raw: str | None, what: str) -> int:
    """A primary key sent by one of our forms; anything else is ``BadInput`` naming ``what``."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        shown = text[:20] + ("…" if len(text) > 20 else "")
        raise BadInput(f"The {what} id {shown!r} is not a number: reload the page and try again.")
    return int(text)
