"""The OpenAPI schema and the interactive docs, served from vendored files (no CDN)."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

# The schema describes the API, not anybody's data: readable without logging in.
schema_view = SpectacularAPIView.as_view(permission_classes=[AllowAny])
swagger_view = SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[AllowAny])
redoc_view = SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[AllowAny])
