"""The site's URLs: each feature's pages, the JSON API under /api/, health and the admin."""

from django.contrib import admin
from django.urls import include, path

from curation.web import health

urlpatterns = [
    path("", include("curation.datasets.urls")),
    path("", include("curation.browse.urls")),
    path("", include("curation.objects.urls")),
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
    path("admin/", admin.site.urls),
]

handler400 = "curation.web.errors.handler400"  # one sentence instead of "Bad Request (400)"
