"""Throttling for token-authenticated requests (scripts); browser sessions are not throttled.

The rate is ``CURATION_API_THROTTLE`` (default ``1000/min``), counted per token in Django's
cache. A bad value fails ``manage.py check`` (and start-up) with one sentence.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from curation.models import ApiToken

_RATE = re.compile(r"^\s*([1-9]\d{0,8})\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_throttle_rate(rate: str) -> tuple[int, int]:
    match = _RATE.match(rate or "")
    if not match:
        raise ImproperlyConfigured(
            f"CURATION_API_THROTTLE={rate!r} is not a rate: write requests per period, "
            "e.g. 1000/min, 50/s, 20000/hour or 100000/day."
        )
    return int(match.group(1)), _SECONDS[match.group(2)[0]]


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str | None:
        # Read at each request (not frozen at import) so settings overrides apply.
        rates: Any = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope)

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        if rate is None:
            return None, None
        return parse_throttle_rate(rate)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None  # sessions and anonymous requests are not throttled here
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


@register()
def check_throttle_rate(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    rates: Any = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    rate = rates.get("token", "")
    try:
        parse_throttle_rate(rate)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="curation.E101")]
    return []
