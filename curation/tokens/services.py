"""API tokens: create (the key is returned once, only its SHA-256 is kept) and revoke."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from curation.models import ApiToken
from curation.models.tokens import hash_token

MAX_TOKENS_PER_USER = 50


class TokenError(ValueError):
    """A token request that cannot be carried out; the message says why."""


def api_token_create(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its key (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise TokenError("A token needs a name that says what it is for, e.g. 'CI'.")
    if len(name) > 100:
        raise TokenError("A token name may have at most 100 characters.")
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise TokenError(
            f"You already have {MAX_TOKENS_PER_USER} tokens: revoke unused ones first."
        )
    key = ApiToken.generate_key()
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user, name=name, key_hash=hash_token(key), prefix=key[:12]
            )
    except IntegrityError:
        raise TokenError(f"You already have a token named {name!r}: choose another name.") from None
    return token, key


def api_token_revoke(*, token: ApiToken) -> None:
    """Delete the token; requests that present its key fail from now on."""
    token.delete()
