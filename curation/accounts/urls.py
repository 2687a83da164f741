"""Sign-in and sign-out pages (the site's and the admin's sign-in are throttled)."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

from curation.accounts import views

urlpatterns: list[URLPattern] = [
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/login/", views.admin_login_view),
]
