"""``/api/presets/``: the shared preset library (private / team / public), via its services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_preset_for_user, presets_visible_to
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.presets.serializers import (
    PresetDuplicateSerializer,
    PresetImportSerializer,
    PresetSerializer,
    PresetUpdateSerializer,
    PresetWriteSerializer,
)
from curation.presets.services import (
    preset_create,
    preset_delete,
    preset_duplicate,
    preset_import,
    preset_update,
)

TAG = ["presets"]


def _team(name: str | None) -> Group | None:
    """The team named in a request body (membership is checked by the preset service)."""
    if not name:
        return None
    team = Group.objects.filter(name=name).first()
    if team is None:
        raise ValidationError({"team": f"No team named {name!r}."})
    return team


def _data(request: Request, preset: Any) -> dict[str, Any]:
    return dict(PresetSerializer(preset, context={"request": request}).data)


class PresetListView(CurationAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        tags=TAG,
        operation_id="presets_list",
        summary="Presets you may use: yours, your teams' and public ones",
        responses={200: PresetSerializer(many=True), **errors(400, 401)},
    )
    def get(self, request: Request) -> Response:
        presets = presets_visible_to(request.user).select_related("owner", "team", "last_used_by")
        return paginate(self, request, presets, PresetSerializer)

    @extend_schema(
        tags=TAG,
        operation_id="presets_create",
        summary="Save a selection config as a preset",
        request=PresetWriteSerializer,
        responses={201: PresetSerializer, **errors(400, 401)},
    )
    def post(self, request: Request) -> Response:
        body = PresetWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        preset = preset_create(config=data["config"], **_preset_fields(request, data))
        return Response(_data(request, preset), status=status.HTTP_201_CREATED)


def _preset_fields(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """The owner, name, description, visibility and team of a new preset (create or import)."""
    return {
        "owner": request.user,
        "name": data["name"],
        "description": data.get("description", ""),
        "visibility": data.get("visibility", "private"),
        "team": _team(data.get("team")),
    }


class PresetDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="presets_retrieve",
        summary="One preset",
        responses={200: PresetSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, preset_id: int) -> Response:
        return Response(_data(request, get_preset_for_user(request.user, preset_id)))

    @extend_schema(
        tags=TAG,
        operation_id="presets_update",
        summary="Change a preset you own (only the fields given)",
        request=PresetUpdateSerializer,
        responses={200: PresetSerializer, **errors(400, 401, 403, 404)},
    )
    def patch(self, request: Request, preset_id: int) -> Response:
        preset = get_preset_for_user(request.user, preset_id, write=True)
        body = PresetUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        preset = preset_update(
            preset=preset,
            name=data.get("name"),
            config=data.get("config"),
            description=data.get("description"),
            visibility=data.get("visibility"),
            team=_team(data.get("team")),
        )
        return Response(_data(request, preset))

    @extend_schema(
        tags=TAG,
        operation_id="presets_destroy",
        summary="Delete a preset you own (runs keep their config snapshot)",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 403, 404)},
    )
    def delete(self, request: Request, preset_id: int) -> Response:
        preset_delete(preset=get_preset_for_user(request.user, preset_id, write=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PresetDuplicateView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="presets_duplicate",
        summary="A private copy of a preset you can see, owned by you",
        request=PresetDuplicateSerializer,
        responses={201: PresetSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, preset_id: int) -> Response:
        preset = get_preset_for_user(request.user, preset_id)
        body = PresetDuplicateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        copy = preset_duplicate(
            preset=preset, owner=request.user, name=body.validated_data.get("name")
        )
        return Response(_data(request, copy), status=status.HTTP_201_CREATED)


class PresetImportView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="presets_import",
        summary="Save a config pasted from the docs (comments, trailing commas) as a preset",
        request=PresetImportSerializer,
        responses={201: PresetSerializer, **errors(400, 401)},
    )
    def post(self, request: Request) -> Response:
        body = PresetImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        preset = preset_import(text=data["config_text"], **_preset_fields(request, data))
        return Response(_data(request, preset), status=status.HTTP_201_CREATED)
