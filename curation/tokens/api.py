"""``/api/tokens/``: your own API tokens (list, create — the key is shown once — and revoke)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.models import ApiToken
from curation.tokens.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
)
from curation.tokens.services import api_token_create, api_token_revoke

TAG = ["tokens"]


class TokenListView(CurationAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        tags=TAG,
        operation_id="tokens_list",
        summary="Your API tokens (never their keys)",
        responses={200: ApiTokenSerializer(many=True), **errors(400, 401)},
    )
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(user=_owner(request))
        return paginate(self, request, tokens, ApiTokenSerializer)

    @extend_schema(
        tags=TAG,
        operation_id="tokens_create",
        summary="Create a token; the response holds its key, which is shown only this once",
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, **errors(400, 401)},
    )
    def post(self, request: Request) -> Response:
        body = ApiTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = api_token_create(user=request.user, name=body.validated_data["name"])
        data = {**ApiTokenSerializer(token).data, "key": key}
        return Response(data, status=status.HTTP_201_CREATED)


class TokenDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="tokens_destroy",
        summary="Revoke one of your tokens",
        responses={204: OpenApiResponse(description="Revoked."), **errors(401, 404)},
    )
    def delete(self, request: Request, token_id: int) -> Response:
        token = ApiToken.objects.filter(user=_owner(request), pk=token_id).first()
        if token is None:
            raise Http404("No such token.")
        api_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _owner(request: Any) -> User:
    """The logged-in user (the views require authentication)."""
    return cast(User, request.user)
