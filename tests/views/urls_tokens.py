"""The site's URLs plus the token pages and the token admin, wired the way the lead wires them
(``include("curation.api.urls_pages")`` in curation/urls.py, ``import curation.admin_tokens`` in
curation/admin.py), so these tests pass before and after that wiring."""

from django.contrib import admin
from django.urls import include, path

import curation.admin_tokens  # noqa: F401  (registers ApiToken with the admin)
from curation.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("curation.api.urls_pages")),
    *site_urlpatterns,
]
