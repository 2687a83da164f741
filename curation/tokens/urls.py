"""Page URLs of API tokens: a user manages their own tokens."""

from django.urls import path

from curation.tokens import views

urlpatterns = [
    path("account/tokens/", views.token_list, name="token-list"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
