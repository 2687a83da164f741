"""The site's 403, 404 and 500 pages (``handler403``, ``handler404``, ``handler500``) and the
favicon.

Pages get the site's layout with one sentence and a way on: back to the dataset the address
names when the user may see it, and always to the dataset list. Paths below ``/api/`` get
``{"detail": "..."}`` instead. The 500 page is a static template rendered without the request,
the user or the database (whatever failed may fail again), and never shows the exception.
Nothing here writes anything.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    JsonResponse,
)
from django.template.loader import get_template, render_to_string
from django.urls import Resolver404, resolve
from django.views.decorators.cache import cache_control

from curation.access import datasets_visible_to
from curation.models import Dataset, SelectionRun
from curation.storage.paths import safe_join

logger = logging.getLogger(__name__)

NOT_FOUND = "There is nothing at this address, or you do not have access to it."
FORBIDDEN = "You do not have permission to do that."
SERVER_ERROR = (
    "Something went wrong on the server: try again, and if it keeps failing tell the person "
    "who runs this site."
)
FAVICON = "curation/favicon.svg"


def _sentence(exception: BaseException | None, default: str) -> str:
    """The exception's own message when a view of ours gave one (``Http404("No such tag.")``);
    Django's resolver passes a dict of tried patterns, which is never shown."""
    args = getattr(exception, "args", ())
    if args and isinstance(args[0], str) and args[0].strip():
        return args[0].strip()
    return default


def dataset_of_path(request: HttpRequest) -> Dataset | None:
    """The dataset the address names (``dataset_id`` or ``run_id``) if the user may see it."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    visible = datasets_visible_to(getattr(request, "user", None))
    kwargs: dict[str, Any] = match.kwargs
    if isinstance(kwargs.get("dataset_id"), int):
        return visible.filter(pk=kwargs["dataset_id"]).first()
    if isinstance(kwargs.get("run_id"), int):
        dataset_id = (
            SelectionRun.objects.filter(pk=kwargs["run_id"])
            .values_list("dataset_id", flat=True)
            .first()
        )
        return visible.filter(pk=dataset_id).first() if dataset_id else None
    return None


def error_page(request: HttpRequest, *, status: int, heading: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    context = {
        "status": status,
        "heading": heading,
        "message": message,
        "dataset": dataset_of_path(request),
    }
    html = render_to_string("curation/error_page.html", context, request=request)
    return HttpResponse(html, status=status)


def handler403(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    message = _sentence(exception, FORBIDDEN)
    return error_page(request, status=403, heading="Not allowed", message=message)


def handler404(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    message = _sentence(exception, NOT_FOUND) if isinstance(exception, Http404) else NOT_FOUND
    if isinstance(exception, Resolver404):
        message = NOT_FOUND
    return error_page(request, status=404, heading="Not found", message=message)


def handler500(request: HttpRequest) -> HttpResponse:
    """A static page (or JSON for the API): no request context, user or database involved."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": SERVER_ERROR}, status=500)
    try:
        html = get_template("curation/server_error.html").render()
    except Exception:  # the template itself failed: plain text still answers
        logger.exception("The server error page could not be rendered.")
        return HttpResponse(SERVER_ERROR, status=500, content_type="text/plain; charset=utf-8")
    return HttpResponse(html, status=500)


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``: browsers ask for it on pages without a ``<link rel="icon">`` (the
    JSON API, the docs); answer with the site's SVG icon instead of a 404."""
    path = safe_join(settings.STATICFILES_DIRS[0], FAVICON)
    if not path.is_file():
        return HttpResponseNotFound()
    return HttpResponse(path.read_bytes(), content_type="image/svg+xml")
