"""One error shape everywhere; bad input is a 400 that changes nothing; never a stack trace."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from curation.models import Dataset, Tag


def raw(client: APIClient, url: str, body: str, method: str = "post"):
    return getattr(client, method)(url, data=body, content_type="application/json")


@pytest.mark.parametrize(
    "body,detail",
    [
        ("{not json", "Malformed JSON: Expecting property name enclosed in double quotes"),
        ('{"name": NaN}', "Malformed JSON: NaN is not valid JSON"),
        ('{"name": "x", "n": 1e999}', "Malformed JSON: the number 1e999 is too large"),
        ('{"name": "x", "n": ' + "9" * 5000 + "}", "Malformed JSON: "),
        ("[" * 100_000 + "]" * 100_000, "Malformed JSON: the body is nested too deeply."),
        ('"just a string"', "Invalid data. Expected a dictionary, but got str."),
        ("\xff\xfe", "Malformed JSON: "),
    ],
)
def test_malformed_json_is_400_and_creates_nothing(api, alice, body, detail):
    response = raw(api("alice"), "/api/datasets/", body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    "body,detail,path",
    [
        ({"name": "dogs", "owner": "bob"}, "owner: Unknown field. Allowed fields: description, "
         "name, team.", "owner"),
        ({"name": ["dogs"]}, "name: Not a valid string.", "name"),
        ({"name": None}, "name: This field may not be null.", "name"),
        ({"name": "x" * 201}, "name: Ensure this field has no more than 200 characters.", "name"),
        ({"name": ""}, "name: This field may not be blank.", "name"),
        ({"name": "d", "description": {"a": 1}}, "description: Not a valid string.", "description"),
    ],
)  # fmt: skip
def test_wrong_fields_and_types_are_400(api, alice, body, detail, path):
    response = api("alice").post("/api/datasets/", body)
    assert response.status_code == 400
    assert response.json() == {"detail": detail, "path": path}
    assert not Dataset.objects.exists()


def test_a_form_post_to_a_json_endpoint_is_415(api, alice):
    response = api("alice").post("/api/datasets/", {"name": "x"}, format="multipart")
    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported media type "multipart/form-data; boundary=BoUnDaRyStRiNg; '
        'charset=utf-8" in '
        "request."
    }


def test_unknown_ids_in_urls_are_404_json(api, dataset):
    client = api("alice")
    for url in (
        "/api/datasets/999999/",
        f"/api/datasets/{dataset.pk}/tags/999999/",
        "/api/runs/999999/",
        "/api/presets/999999/",
        f"/api/datasets/{10**40}/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert set(response.json()) == {"detail"}


def test_unknown_api_urls_answer_json(api, db):
    response = api("anonymous").get("/api/nothing/here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No API endpoint at /api/nothing/here/."}


def test_a_method_not_allowed_is_405_json(api, dataset):
    response = api("alice").put(f"/api/datasets/{dataset.pk}/", {})
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}


def test_an_unexpected_error_is_a_500_without_a_stack_trace(api, dataset, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr("curation.tags.api.tag_create", broken)
    client = api("alice")
    client.raise_request_exception = False
    response = client.post(f"/api/datasets/{dataset.pk}/tags/", {"name": "t"})
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal error: the request could not be completed; the administrators can "
        "find the details in the server log."
    }
    assert b"secret" not in response.content
    assert b"Traceback" not in response.content
    assert not Tag.objects.exists()


def test_nul_characters_are_400_not_a_database_error(api, dataset):
    client = api("alice")
    response = raw(client, "/api/datasets/", '{"name": "a\\u0000b"}')
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Malformed JSON: a string contains a NUL character (\\u0000)."
    }
    response = client.get(f"/api/datasets/{dataset.pk}/samples/?label=a%00b")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "label: The NUL character (%00) is not allowed.",
        "path": "label",
    }
    assert Dataset.objects.count() == 1
