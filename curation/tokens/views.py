"""``/account/tokens/``: a user's API tokens — create one (its key is shown once) and revoke."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from curation.models import ApiToken
from curation.tokens.forms import TokenCreateForm
from curation.tokens.services import TokenError, api_token_create, api_token_revoke


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    new_key = ""
    form = TokenCreateForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        try:
            token, new_key = api_token_create(user=request.user, name=form.typed_name())
        except TokenError as exc:
            form.add_error("name", str(exc))
        else:
            form = TokenCreateForm()  # an empty form for the next token
            messages.success(request, f"Token {token.name!r} created. Copy its key now.")
    tokens = ApiToken.objects.filter(user=_owner(request))
    context = {"tokens": tokens, "new_key": new_key, "form": form, "name": form.typed_name()}
    status = 400 if form.errors else 200
    return render(request, "curation/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(user=_owner(request), pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    api_token_revoke(token=token)
    messages.success(request, f"Token {token.name!r} revoked: scripts using it now get 401.")
    return redirect("token-list")


def _owner(request: Any) -> User:
    """The logged-in user (the views require authentication)."""
    return cast(User, request.user)
