"""Token and session authentication, CSRF for sessions, throttling of token requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from curation.api.throttling import TokenRateThrottle
from curation.models import ApiToken
from curation.tokens.services import api_token_create, api_token_revoke

URL = "/api/datasets/"


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_it_accepts_a_token_with_either_keyword(alice, dataset, keyword):
    _, key = api_token_create(user=alice, name="ci")
    client = APIClient()
    response = client.get(URL, HTTP_AUTHORIZATION=f"{keyword} {key}")
    assert response.status_code == 200
    assert [d["name"] for d in response.json()["results"]] == ["cats"]


def test_anonymous_gets_401_with_a_bearer_challenge(db):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    ["Bearer cur_not-a-real-token", "Bearer", "Bearer a b", "Token ünïcode"],
)
def test_it_rejects_a_bad_token(db, header):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
    assert response.json()["detail"].startswith("Invalid")


def test_a_revoked_token_stops_working(alice):
    token, key = api_token_create(user=alice, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(URL).status_code == 200
    api_token_revoke(token=token)
    response = client.get(URL)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_an_inactive_users_token_is_refused(alice):
    _, key = api_token_create(user=alice, name="ci")
    alice.is_active = False
    alice.save()
    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert response.json() == {"detail": "The user of this token is inactive."}


def test_only_the_hash_of_the_key_is_stored(alice):
    token, key = api_token_create(user=alice, name="ci")
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.key_hash, stored.prefix)
    assert stored.prefix == key[:12]
    assert len(stored.key_hash) == 64


def test_last_used_is_written_at_most_once_a_minute(alice, django_assert_num_queries):
    token, key = api_token_create(user=alice, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get("/api/tokens/")
    token.refresh_from_db()
    first = token.last_used
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    client.get("/api/tokens/")
    token.refresh_from_db()
    assert token.last_used == first  # not rewritten within the minute
    ApiToken.objects.filter(pk=token.pk).update(last_used=first - timedelta(minutes=2))
    client.get("/api/tokens/")
    token.refresh_from_db()
    assert token.last_used > first


def test_session_auth_requires_csrf_for_writes(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(URL).status_code == 200
    response = client.post(URL, {"name": "dogs"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_token_auth_needs_no_csrf(alice):
    _, key = api_token_create(user=alice, name="ci")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(URL, {"name": "dogs"}, format="json")
    assert response.status_code == 201


@pytest.fixture
def tight_throttle(settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min"},
    }
    yield
    cache.clear()


def test_token_requests_are_throttled(alice, tight_throttle):
    _, key = api_token_create(user=alice, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(URL)
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 0


def test_each_token_has_its_own_budget_and_sessions_are_not_throttled(alice, tight_throttle):
    _, key1 = api_token_create(user=alice, name="one")
    _, key2 = api_token_create(user=alice, name="two")
    for _ in range(3):
        APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {key1}")
    assert APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {key2}").status_code == 200
    session = APIClient()
    session.force_login(alice)
    assert [session.get(URL).status_code for _ in range(5)] == [200] * 5


@pytest.mark.parametrize("rate", ["lots", "0/min", "10/fortnight", ""])
def test_a_bad_throttle_rate_fails_the_system_check(settings, rate):
    from django.core.checks import run_checks

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": rate}}
    messages = [m for m in run_checks() if m.id == "curation.E101"]
    assert len(messages) == 1
    assert "CURATION_API_THROTTLE" in messages[0].msg


def test_the_default_throttle_rate_is_a_thousand_a_minute():
    throttle = TokenRateThrottle()
    assert (throttle.num_requests, throttle.duration) == (1000, 60)
