"""Saved views as JSON and the bodies of their writes (``/api/datasets/{id}/views/``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from curation.api.serializers_common import StrictSerializer
from curation.models import SavedView
from curation.tags.serializers import FILTER_HELP, SampleFilterField

VISIBILITY_HELP = "`private` (only you) or `team` (everyone who may see the dataset)."
# Plain strings, checked by the service: presets have a "visibility" enum of their own, and two
# enums of one field name would collide in the OpenAPI schema.


class SavedViewSerializer(serializers.ModelSerializer):
    filter = serializers.CharField(source="query", read_only=True, help_text="Its query string.")
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    visibility = serializers.CharField(read_only=True, help_text=VISIBILITY_HELP)

    class Meta:
        model = SavedView
        fields = ["id", "name", "filter", "visibility", "owner", "created", "updated"]
        read_only_fields = fields


class SavedViewCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    filter = SampleFilterField(help_text=FILTER_HELP)
    visibility = serializers.CharField(default="private", help_text=VISIBILITY_HELP)


class SavedViewUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    filter = SampleFilterField(required=False, help_text=FILTER_HELP)
    visibility = serializers.CharField(required=False, help_text=VISIBILITY_HELP)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give a name, a filter, a visibility or several.")
        return attrs
