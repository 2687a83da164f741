"""The site's URLs: each feature's pages, the JSON API under /api/, health and the admin."""

from django.contrib import admin
from django.urls import include, path

from curation.web import error_pages, health

urlpatterns = [
    path("", include("curation.datasets.urls")),
    path("", include("curation.browse.urls")),
    path("", include("curation.objects.urls")),
    path("", include("curation.videos.urls")),
    path("", include("curation.embeddings.urls")),
    path("", include("curation.tags.urls")),
    path("", include("curation.builder.urls")),
    path("", include("curation.presets.urls")),
    path("", include("curation.runs.urls")),
    path("", include("curation.jobs.urls")),
    path("", include("curation.tokens.urls")),
    path("", include("curation.accounts.urls")),
    path("api/", include("curation.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", error_pages.favicon, name="favicon"),
    path("admin/", admin.site.urls),
]

handler400 = "curation.web.errors.handler400"  # one sentence instead of "Bad Request (400)"
handler403 = "curation.web.error_pages.handler403"  # the site's layout, one sentence, a way on
handler404 = "curation.web.error_pages.handler404"
handler500 = "curation.web.error_pages.handler500"  # static: no request context, no database
