"""Sign-in throttling (issue 10.4): per username and per client address, stored in the database,
429 with one sentence, cleared by a successful sign-in, lifted when the window has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from curation.models import LoginFailure

LOCKED = "Too many failed sign-ins for this account or address; try again in 15 minutes."


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.CURATION_LOGIN_MAX_FAILURES = 3
    settings.CURATION_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.CURATION_LOGIN_WINDOW_MINUTES = 15
    settings.CURATION_LOGIN_CLIENT_IP_HEADER = ""


def sign_in(client, username, password, address="10.0.0.1", url=None, **headers):
    return client.post(
        url or reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_failures_lock_the_account_even_for_the_right_password(client, alice):
    for _ in range(3):
        assert sign_in(client, "alice", "wrong").status_code == 200
    assert LoginFailure.objects.filter(username="alice", address="10.0.0.1").count() == 3
    response = sign_in(client, "alice", "alice-password")
    assert response.status_code == 429
    assert LOCKED in response.content.decode().replace("&#x27;", "'")
    assert not is_signed_in(client)
    assert LoginFailure.objects.count() == 3  # a refused attempt is not counted again


def test_the_lock_is_per_account_from_another_address_too(client, alice, bob):
    for _ in range(3):
        sign_in(client, "alice", "wrong", address="10.0.0.1")
    assert sign_in(client, "alice", "alice-password", address="10.9.9.9").status_code == 429
    response = sign_in(client, "bob", "bob-password", address="10.9.9.9")
    assert response.status_code == 302 and is_signed_in(client)


def test_failures_for_many_accounts_lock_the_address(client, bob):
    for name in ("u1", "u2", "u3", "u4", "u5"):
        assert sign_in(client, name, "guess").status_code == 200
    assert sign_in(client, "bob", "bob-password").status_code == 429
    assert not is_signed_in(client)
    assert sign_in(client, "bob", "bob-password", address="10.0.0.2").status_code == 302


def test_a_successful_sign_in_clears_the_accounts_failures(client, alice):
    sign_in(client, "alice", "wrong")
    sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "alice-password").status_code == 302
    assert not LoginFailure.objects.filter(username="alice").exists()
    client.logout()
    sign_in(client, "alice", "wrong")
    sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "alice-password").status_code == 302


def test_the_lock_lifts_when_the_window_has_passed(client, alice):
    for _ in range(3):
        sign_in(client, "alice", "wrong")
    LoginFailure.objects.update(created=timezone.now() - timedelta(minutes=10))
    response = sign_in(client, "alice", "alice-password")
    assert response.status_code == 429
    assert "try again in 5 minutes." in response.content.decode()
    LoginFailure.objects.update(created=timezone.now() - timedelta(minutes=16))
    assert sign_in(client, "alice", "alice-password").status_code == 302
    assert LoginFailure.objects.count() == 0


def test_the_admin_sign_in_is_throttled_too(client, staff):
    url = reverse("admin:login")
    for _ in range(3):
        assert sign_in(client, "stella", "wrong", url=url).status_code == 200
    response = sign_in(client, "stella", "stella-password", url=url)
    assert response.status_code == 429 and not is_signed_in(client)


def test_behind_a_proxy_the_address_comes_from_the_configured_header(client, settings, bob):
    settings.CURATION_LOGIN_CLIENT_IP_HEADER = "X-Forwarded-For"
    for name in ("u1", "u2", "u3", "u4", "u5"):
        sign_in(client, name, "guess", address="127.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 6.6.6.6")
    assert set(LoginFailure.objects.values_list("address", flat=True)) == {"6.6.6.6"}
    locked = sign_in(
        client, "bob", "bob-password", address="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6"
    )
    assert locked.status_code == 429
    other = sign_in(
        client, "bob", "bob-password", address="127.0.0.1", HTTP_X_FORWARDED_FOR="7.7.7.7"
    )
    assert other.status_code == 302


def test_a_limit_of_zero_turns_it_off(client, settings, alice):
    settings.CURATION_LOGIN_MAX_FAILURES = 0
    for _ in range(4):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "alice-password").status_code == 302


def test_the_page_itself_is_not_throttled(client, alice):
    for _ in range(3):
        sign_in(client, "alice", "wrong")
    assert client.get(reverse("login")).status_code == 200
