"""Strategy presets as JSON."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from curation.api.serializers_common import StrictSerializer
from curation.models import StrategyPreset

CONFIG_HELP = (
    "A LightlyOne-Worker selection config: "
    '{"n_samples": 100, "strategies": [{"input": {...}, "strategy": {...}}]}.'
)


class ConfigField(serializers.JSONField):
    """A selection config object; its content is checked by the selection engine's parser."""

    default_error_messages = {"not_object": "The config must be a JSON object."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("not_object")
        return super().to_internal_value(data)


class PresetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    last_used_by = serializers.CharField(
        source="last_used_by.username", read_only=True, allow_null=True
    )
    config = serializers.JSONField(read_only=True, help_text=CONFIG_HELP)
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = StrategyPreset
        fields = [
            "id",
            "name",
            "description",
            "owner",
            "visibility",
            "team",
            "config",
            "can_edit",
            "created",
            "updated",
            "last_used_at",
            "last_used_by",
        ]
        read_only_fields = fields

    def get_can_edit(self, obj: StrategyPreset) -> bool:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return bool(user and (user.is_staff or obj.owner_id == user.pk))


class PresetWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    visibility = serializers.ChoiceField(
        choices=StrategyPreset.Visibility.choices,
        required=False,
        help_text="private (only you), team (your team), public (everyone).",
    )
    team = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=150,
        help_text="For team visibility: the name of one of your teams (default: your first).",
    )
    config = ConfigField(help_text=CONFIG_HELP)


class PresetUpdateSerializer(PresetWriteSerializer):
    """Every field optional: only the given ones change."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            field.required = False


class PresetDuplicateSerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=200, required=False, help_text="Default: '<name> (copy)'."
    )


class PresetImportSerializer(StrictSerializer):
    """A preset from config text as the LightlyOne docs write it (the body stays JSON)."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    visibility = serializers.ChoiceField(choices=StrategyPreset.Visibility.choices, required=False)
    team = serializers.CharField(required=False, allow_null=True, max_length=150)
    config_text = serializers.CharField(
        max_length=1_000_000,
        trim_whitespace=False,
        help_text="The config as text: JSON plus # and // comments, trailing commas and "
        "True/False/None, as in the LightlyOne Worker docs.",
    )
