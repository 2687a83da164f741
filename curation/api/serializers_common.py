"""Serializer building blocks shared by every resource: strict request bodies, the error shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """A request body: a JSON object whose keys must all be fields of the serializer, and whose
    strings are strings (DRF would otherwise turn ``5`` into ``"5"``)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = set(self.fields)
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                allowed = ", ".join(sorted(known))
                raise serializers.ValidationError(
                    {unknown[0]: [f"Unknown field. Allowed fields: {allowed}."]}
                )
            if not isinstance(data, QueryDict):  # JSON: types are what they say
                for name, field in self.fields.items():
                    value = data.get(name)
                    not_text = value is not None and not isinstance(value, str)
                    if not_text and isinstance(field, serializers.ChoiceField):
                        choices = ", ".join(f'"{choice}"' for choice in field.choices)
                        raise serializers.ValidationError(
                            {name: [f"Not a valid string: one of {choices}."]}
                        )
                    if not_text and isinstance(field, serializers.CharField):
                        raise serializers.ValidationError({name: ["Not a valid string."]})
                    if isinstance(field, serializers.BooleanField) and (
                        value is not None and not isinstance(value, bool)
                    ):
                        raise serializers.ValidationError({name: ["Must be true or false."]})
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: ``"5"``, ``5.0`` and ``true`` are refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        value: int = super().to_internal_value(data)
        return value


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def id_list_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=id_field(), max_length=1_000_000, **kwargs)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="One sentence: what was wrong and what to do.")
    path = serializers.CharField(
        required=False,
        help_text="The field or selection-config JSON path the error is about, when there is one.",
    )


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "Bad input: malformed JSON, unknown fields, wrong types or a rule not met.",
        401: "No or an invalid token / session.",
        403: "Visible but not allowed (e.g. deleting a team member's dataset).",
        404: "No such object, or not visible to you.",
        409: "Conflict.",
    }
    return {
        code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes
    }


READ_ERRORS = errors(400, 401, 404)
WRITE_ERRORS = errors(400, 401, 404)
