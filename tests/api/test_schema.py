"""The OpenAPI schema and the docs pages (vendored assets, no CDN)."""

from __future__ import annotations

import pytest
from django.core.management import call_command


def test_the_schema_is_served_and_documents_every_endpoint(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in [
        "/api/datasets/",
        "/api/datasets/{dataset_id}/",
        "/api/datasets/{dataset_id}/samples/",
        "/api/datasets/{dataset_id}/samples/{sample_id}/",
        "/api/datasets/{dataset_id}/tags/",
        "/api/datasets/{dataset_id}/tags/combine/",
        "/api/datasets/{dataset_id}/tags/{tag_id}/add/",
        "/api/datasets/{dataset_id}/tags/{tag_id}/remove/",
        "/api/datasets/{dataset_id}/tags/{tag_id}/export/",
        "/api/datasets/{dataset_id}/embeddings/",
        "/api/datasets/{dataset_id}/metadata/",
        "/api/datasets/{dataset_id}/annotations/",
        "/api/datasets/{dataset_id}/predictions/",
        "/api/datasets/{dataset_id}/runs/",
        "/api/runs/{run_id}/result/",
        "/api/presets/{preset_id}/duplicate/",
        "/api/tokens/",
    ]:
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (path, method)
            if path != "/api/schema/":
                assert "401" in responses, (path, method)
            if method in ("post", "patch") and "requestBody" in operation:
                content = operation["requestBody"]["content"]
                assert set(content) <= {"application/json", "multipart/form-data"}
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: `Authorization: Bearer <key>` (`Token <key>` works too).",
    }


def test_the_schema_validates_without_warnings(tmp_path, db):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3")


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_vendored_assets(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower()
    if url == "/api/docs/":  # the start script comes from the split view (CSP: no inline script)
        assert '<script src="/api/docs/?script="></script>' in page
        page = client.get(url + "?script=").content.decode()
    assert "/api/schema/" in page


def test_vendored_swagger_assets_are_served(client, db):
    response = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert response.status_code == 200
