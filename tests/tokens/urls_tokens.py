"""The site's URLs plus the token pages and the token admin, wired the way the lead wires them
(``include("curation.tokens.urls")`` in curation/urls.py, ``import curation.tokens.admin`` in
curation/admin.py), so these tests pass before and after that wiring."""

from django.contrib import admin
from django.urls import include, path

import curation.tokens.admin  # noqa: F401  (registers ApiToken with the admin)
from curation.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("curation.tokens.urls")),
    *site_urlpatterns,
]
