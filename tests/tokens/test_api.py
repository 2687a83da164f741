"""``/api/tokens/``: a user's own tokens."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from curation.models import ApiToken
from curation.tokens.services import api_token_create
from tests.support.api import iso


def token_json(token):
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created": iso(token.created),
        "last_used": iso(token.last_used) if token.last_used else None,
    }


def test_it_lists_only_my_tokens(api, alice, bob):
    api_token_create(user=bob, name="bobs")
    client = api("alice")  # creates the token 'tests-alice'
    response = client.get("/api/tokens/")
    assert response.status_code == 200
    mine = ApiToken.objects.get(user=alice)
    assert response.json() == {"next": None, "previous": None, "results": [token_json(mine)]}


def test_create_returns_the_key_once(api, alice):
    response = api("alice").post("/api/tokens/", {"name": "CI"})
    assert response.status_code == 201
    body = response.json()
    token = ApiToken.objects.get(user=alice, name="CI")
    assert body == {**token_json(token), "key": body["key"]}
    assert body["key"].startswith("cur_") and body["key"][:12] == token.prefix
    works = APIClient().get("/api/datasets/", HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert works.status_code == 200
    listed = api("alice").get("/api/tokens/").json()["results"]
    assert all("key" not in t for t in listed)


def test_create_refuses_a_duplicate_name(api, alice):
    api_token_create(user=alice, name="CI")
    response = api("alice").post("/api/tokens/", {"name": "CI"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "You already have a token named 'CI': choose another name."
    }
    assert ApiToken.objects.filter(user=alice, name="CI").count() == 1


def test_revoke_deletes_my_token(api, alice):
    token, _ = api_token_create(user=alice, name="CI")
    response = api("alice").delete(f"/api/tokens/{token.pk}/")
    assert response.status_code == 204
    assert not ApiToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize("who,code", [("bob", 404), ("charlie", 404), ("anonymous", 401)])
def test_others_cannot_revoke_my_token(api, alice, who, code):
    token, _ = api_token_create(user=alice, name="CI")
    assert api(who).delete(f"/api/tokens/{token.pk}/").status_code == code
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_anonymous_cannot_create(api, db):
    assert api("anonymous").post("/api/tokens/", {"name": "x"}).status_code == 401
    assert not ApiToken.objects.exists()
