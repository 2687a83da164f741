"""Sign-in throttling: after too many failed sign-ins for one username, or from one client address,
within the window, further attempts for it are refused (429) until the window has passed.

Failures live in the database (``LoginFailure``), so every web process counts the same ones.
The limits come from settings (``CURATION_LOGIN_MAX_FAILURES``, ``..._PER_ADDRESS`` and
``CURATION_LOGIN_WINDOW_MINUTES``; see ``.env.example``); 0 turns a limit off. A successful
sign-in deletes its username's failures. While an account or address is locked even the right
password is refused: the lock is what stops guessing. The client address is ``REMOTE_ADDR``,
or with ``CURATION_LOGIN_CLIENT_IP_HEADER`` set (behind a proxy) the last address in that
header, the one the proxy itself appended.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from curation.models import LoginFailure

THROTTLED_MESSAGE = (
    "Too many failed sign-ins for this account or address; try again in {minutes} minute{s}."
)


def _window() -> timedelta:
    return timedelta(minutes=max(int(settings.CURATION_LOGIN_WINDOW_MINUTES), 1))


def client_address(request: HttpRequest) -> str:
    header = str(getattr(settings, "CURATION_LOGIN_CLIENT_IP_HEADER", "") or "")
    if header:
        key = "HTTP_" + header.upper().replace("-", "_")
        forwarded = [part.strip() for part in request.META.get(key, "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1][:64]
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:64]


def _normalised(username: str) -> str:
    """The key failures are counted under: NFKC like the sign-in form (fullwidth letters sign in
    as ``alice``, so they must count as ``alice``) and case-folded (variants share one count)."""
    return unicodedata.normalize("NFKC", username).strip().casefold()[:150]


def login_lockout_minutes(*, username: str, address: str) -> int:
    """Minutes until ``username`` may try again from ``address`` (0: not locked)."""
    now = timezone.now()
    since = now - _window()
    limits = [(Q(address=address), int(settings.CURATION_LOGIN_MAX_FAILURES_PER_ADDRESS))]
    if _normalised(username):
        limits.append(
            (Q(username=_normalised(username)), int(settings.CURATION_LOGIN_MAX_FAILURES))
        )
    until = None
    for match, limit in limits:
        if limit <= 0:
            continue
        recent = (
            LoginFailure.objects.filter(match, created__gt=since)
            .order_by("-created")
            .values_list("created", flat=True)[limit - 1 : limit]
        )
        oldest_counted = next(iter(recent), None)
        if oldest_counted is not None:  # ``limit`` failures within the window
            lifted = oldest_counted + _window()
            until = lifted if until is None else max(until, lifted)
    if until is None:
        return 0
    return max(1, math.ceil((until - now).total_seconds() / 60))


def login_failure_record(*, username: str, address: str) -> None:
    now = timezone.now()
    LoginFailure.objects.filter(created__lte=now - _window()).delete()
    LoginFailure.objects.create(username=_normalised(username), address=address, created=now)


def login_failures_clear(*, username: str) -> None:
    """A successful sign-in forgives the account's failures (so they no longer count for its
    address either; failures for other usernames from that address still do)."""
    LoginFailure.objects.filter(username=_normalised(username)).delete()


def throttled_message(minutes: int) -> str:
    return THROTTLED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s")
