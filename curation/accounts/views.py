"""The sign-in pages (the site's and the admin's) with throttling: a locked account or address
gets the page again with status 429 and one sentence, before any password is checked; a failed
attempt is counted, a successful one forgives the account's failures
(``curation.accounts.services``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from curation.accounts.services import (
    client_address,
    login_failure_record,
    login_failures_clear,
    login_lockout_minutes,
    throttled_message,
)

View = Callable[..., HttpResponseBase]


def throttled(view: View) -> View:
    """``view`` (a Django login view) behind the sign-in throttle."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        username = str(request.POST.get("username", ""))
        address = client_address(request)
        minutes = login_lockout_minutes(username=username, address=address)
        if minutes:
            context = {
                "form": AuthenticationForm(request),
                "throttled": throttled_message(minutes),
                "next": request.POST.get("next", ""),
            }
            return render(request, "registration/login.html", context, status=429)
        response = view(request, *args, **kwargs)
        if response.status_code in (301, 302, 303) and request.user.is_authenticated:
            login_failures_clear(username=request.user.get_username())
        elif response.status_code == 200:  # the form again: the credentials were refused
            login_failure_record(username=username, address=address)
        return response

    return wrapper


login_view = throttled(auth_views.LoginView.as_view())
admin_login_view = throttled(admin.site.login)
