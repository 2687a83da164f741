"""One error shape for the whole API: ``{"detail": "one sentence"}`` (plus ``"path"`` naming the
field or the selection-config JSON path), never a stack trace.

Services raise their own ``ValueError`` subclasses (``IngestError``, ``TagError``,
``DatasetError``, ``ConfigError`` …); every exception class defined under ``curation.`` that is a
``ValueError`` (or is defined in ``curation.services``) is a client error and answers 400.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from curation.web.errors import exception_sentence

logger = logging.getLogger("curation.api")


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    if isinstance(exc, exceptions.ValidationError):
        path, message = first_error(exc.detail)
        return _error(message, status.HTTP_400_BAD_REQUEST, path=path)
    if isinstance(exc, Http404):
        return _error(str(exc) or "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        return _error(str(exc) or "You may not do this.", status.HTTP_403_FORBIDDEN)
    if isinstance(exc, BadRequest | SuspiciousOperation):  # e.g. a form body over the limit
        code, message = exception_sentence(exc)
        return _error(message, code)
    if is_client_error(exc):
        path = getattr(exc, "path", None) or getattr(exc, "field", None)
        return _error(str(exc), status.HTTP_400_BAD_REQUEST, path=str(path) if path else None)
    response = exception_handler(exc, dict(context))
    if response is not None:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        response.data = {"detail": str(detail or response.status_text)}
        return response
    view = context.get("view")
    logger.exception("API error in %s", type(view).__name__ if view else "?", exc_info=exc)
    return _error(
        "Internal error: the request could not be completed; the administrators can find the "
        "details in the server log.",
        status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def is_client_error(exc: Exception) -> bool:
    module = type(exc).__module__
    if module.startswith("curation.services"):
        return True
    return isinstance(exc, ValueError) and module.startswith("curation.")


def first_error(detail: Any, prefix: str = "") -> tuple[str | None, str]:
    """The first message of a DRF error tree and the dotted path it belongs to."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key in ("non_field_errors", "detail"):
                return first_error(value, prefix)
            if isinstance(key, int):
                child = f"{prefix}[{key}]"
            else:
                child = f"{prefix}.{key}" if prefix else str(key)
            return first_error(value, child)
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list):
                return first_error(value, f"{prefix}[{index}]")
            return first_error(value, prefix)
    message = str(detail)
    return (prefix or None), (f"{prefix}: {message}" if prefix else message)


def _error(message: str, code: int, *, path: str | None = None) -> Response:
    data: dict[str, Any] = {"detail": message}
    if path:
        data["path"] = path
    return Response(data, status=code)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs below /api/ answer JSON, not the HTML 404 page."""
    return JsonResponse({"detail": f"No API endpoint at {request.path}."}, status=404)
