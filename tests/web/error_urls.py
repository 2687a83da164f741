"""The site's URLs plus views that fail on purpose, for the error page tests."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

from curation.urls import urlpatterns as site_urlpatterns


def explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals: /srv/curation/settings.py line 12")


def refuse(request: HttpRequest, dataset_id: int) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("boom/", explode),
    path("api/boom/", explode),
    path("datasets/<int:dataset_id>/refuse/", refuse),
    *site_urlpatterns,
]

handler400 = "curation.web.errors.handler400"
handler403 = "curation.web.error_pages.handler403"
handler404 = "curation.web.error_pages.handler404"
handler500 = "curation.web.error_pages.handler500"
