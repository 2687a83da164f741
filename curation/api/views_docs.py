"""The OpenAPI schema and the interactive docs, served from vendored files (no CDN).

Swagger UI and ReDoc style themselves with inline styles and run web workers from blobs, so
their two pages get a Content-Security-Policy of their own that allows those (scripts still come
only from this site: Swagger's start script is served by the split view at ``?script=``, and the
ReDoc template, ``templates/drf_spectacular/redoc.html``, has no inline script)."""

from __future__ import annotations

from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import AllowAny

DOCS_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "worker-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# The schema describes the API, not anybody's data: readable without logging in.
schema_view = SpectacularAPIView.as_view(permission_classes=[AllowAny])
swagger_view = csp_override(DOCS_CSP)(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny])
)
redoc_view = csp_override(DOCS_CSP)(
    SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[AllowAny])
)
