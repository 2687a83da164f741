"""The API tokens page (``/account/tokens/``) and the admin's token list."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import ApiToken
from curation.models.tokens import hash_token
from curation.tokens.admin import ApiTokenAdmin
from curation.tokens.services import api_token_create

pytestmark = pytest.mark.urls("tests.tokens.urls_tokens")


def test_it_requires_login(client, db):
    response = client.get(reverse("token-list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_lists_only_my_tokens(client, alice, bob):
    api_token_create(user=alice, name="alice-ci")
    api_token_create(user=bob, name="bob-notebook")
    client.force_login(alice)
    page = client.get(reverse("token-list")).content.decode()
    assert "alice-ci" in page
    assert "bob-notebook" not in page


def test_it_creates_a_token_and_shows_its_key_once(client, alice):
    client.force_login(alice)
    response = client.post(reverse("token-list"), {"name": "CI"})
    assert response.status_code == 200
    key = re.search(r'<code id="new-token-key">([^<]+)</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=alice, name="CI")
    assert token.key_hash == hash_token(key)
    assert APIClient().get("/api/datasets/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    again = client.get(reverse("token-list")).content.decode()
    assert key not in again
    assert token.prefix in again


def test_it_explains_a_bad_name(client, alice):
    client.force_login(alice)
    response = client.post(reverse("token-list"), {"name": "   "})
    assert response.status_code == 400
    assert "A token needs a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_it_needs_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("token-list"), {"name": "CI"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_it_revokes_my_token(client, alice):
    token, key = api_token_create(user=alice, name="CI")
    client.force_login(alice)
    response = client.post(reverse("token-revoke", args=[token.pk]))
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    assert APIClient().get("/api/datasets/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_others_cannot_revoke_my_token(client, request, alice, who):
    token, _ = api_token_create(user=alice, name="CI")
    client.force_login(request.getfixturevalue(who))
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoke_is_post_only(client, alice):
    token, _ = api_token_create(user=alice, name="CI")
    client.force_login(alice)
    assert client.get(reverse("token-revoke", args=[token.pk])).status_code == 405
    assert ApiToken.objects.exists()


@pytest.fixture
def token_admin():
    """The admin of API tokens (registered by importing curation.tokens.admin)."""
    assert isinstance(admin.site._registry[ApiToken], ApiTokenAdmin)
    return admin.site._registry[ApiToken]


def test_admin_lists_and_revokes_tokens(client, django_user_model, alice, token_admin):
    root = django_user_model.objects.create_superuser("root", password="root-password")
    token, key = api_token_create(user=alice, name="CI")
    client.force_login(root)
    listing = client.get(reverse("admin:curation_apitoken_changelist"))
    assert listing.status_code == 200
    assert "CI" in listing.content.decode()
    assert key not in listing.content.decode()
    response = client.post(
        reverse("admin:curation_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_admin_cannot_add_tokens(client, django_user_model, token_admin):
    root = django_user_model.objects.create_superuser("root", password="root-password")
    client.force_login(root)
    assert client.get(reverse("admin:curation_apitoken_add")).status_code == 403


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_a_nameless_token_is_refused_next_to_the_field(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.post(reverse("token-list"), {"name": "   "})
    html = response.content.decode()
    assert response.status_code == 400
    assert "A token needs a name" in html
    assert html.index("A token needs a name") > html.index('id="token-name"')  # by the field
    assert not ApiToken.objects.filter(user=user).exists()
