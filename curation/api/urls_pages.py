"""Account pages that belong to the API: managing one's API tokens. Included at the site root."""

from django.urls import path

from curation.views import tokens

urlpatterns = [
    path("account/tokens/", tokens.token_list, name="token-list"),
    path("account/tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token-revoke"),
]
