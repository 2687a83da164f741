"""Display preferences of the browser: the thumbnail size, remembered per user.

``POST /browse/thumbnail-size/`` (``size`` s / m / l, ``next`` the page to go back to) stores
the size in the user's session and redirects back (303), so reloads and later visits keep it;
the grid reads it with :func:`thumbnail_size` (a GET only reads the session, never writes).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from curation.browse.forms import THUMBNAIL_SIZES, ThumbnailSizeForm
from curation.web.errors import bad_request

SESSION_KEY = "curation_thumbnail_size"
DEFAULT_SIZE = "m"


def thumbnail_size(request: HttpRequest) -> str:
    size = request.session.get(SESSION_KEY, DEFAULT_SIZE)
    return size if size in dict(THUMBNAIL_SIZES) else DEFAULT_SIZE


@login_required
@require_POST
def thumbnail_size_set(request: HttpRequest) -> HttpResponse:
    form = ThumbnailSizeForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form.first_error())
    request.session[SESSION_KEY] = form.cleaned_data["size"]
    target = form.cleaned_data.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(target if safe and target else reverse("dataset-list"), status=303)
