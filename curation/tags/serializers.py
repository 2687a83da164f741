"""Tags as JSON, and the bodies of the tag writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from curation.api.serializers_common import StrictSerializer, id_field, id_list_field
from curation.browse.saved_views import sample_filter_for_user
from curation.filters import FilterError, SampleFilter
from curation.models import Tag
from curation.tags.services import TAG_OPERATIONS


class TagSerializer(serializers.ModelSerializer):
    sample_count = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Tag
        fields = ["id", "name", "kind", "description", "sample_count", "created_by", "created"]
        read_only_fields = fields


FILTER_HELP = (
    "A sample filter: the browser's query string (`tag=train&label=cat&min:lightly.sharpness=50`) "
    'or an object of parameter -> value or list of values (`{"tag": ["train"], "label": "cat"}`).'
)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": 10_000},
            {
                "type": "object",
                "additionalProperties": {
                    "oneOf": [
                        {"type": "string"},
                        {"type": "number"},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                },
            },
        ],
        "description": FILTER_HELP,
    }
)
class SampleFilterField(serializers.Field):
    """A query string or a mapping, parsed into a ``SampleFilter`` (errors name the parameter).

    With ``dataset`` and ``user`` in the serializer's context, ``view=NAME`` is expanded to the
    saved view that user may use (``curation.browse.saved_views``); without, it is an error."""

    default_error_messages = {"invalid": "Use a query string or an object of parameters."}

    def to_internal_value(self, data: Any) -> SampleFilter:
        if isinstance(data, Mapping):
            for key, value in data.items():
                items = value if isinstance(value, list) else [value]
                if not all(
                    isinstance(v, str) or (isinstance(v, int | float) and not isinstance(v, bool))
                    for v in items
                ):
                    raise serializers.ValidationError(
                        f"The value of {key!r} must be a string, a number or a list of strings."
                    )
        elif not isinstance(data, str) or len(data) > 10_000:
            self.fail("invalid")
        dataset = self.context.get("dataset")
        try:
            if dataset is not None:  # view=NAME: the saved views the requesting user may use
                user = self.context.get("user")
                return sample_filter_for_user(dataset=dataset, user=user, source=data)
            return SampleFilter.parse(data)
        except FilterError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: Any) -> Any:
        return value.to_querystring() if isinstance(value, SampleFilter) else value


class TagCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    sample_ids = id_list_field(required=False, help_text="Samples of this dataset to tag.")
    filter = SampleFilterField(required=False, help_text=FILTER_HELP)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "sample_ids" in attrs and "filter" in attrs:
            raise serializers.ValidationError("Give either sample_ids or filter, not both.")
        return attrs


class TagUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, help_text="The new name.")
    description = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, help_text="The new description."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give a name, a description or both.")
        return attrs


class TagMembersSerializer(StrictSerializer):
    sample_ids = id_list_field(required=False)
    filter = SampleFilterField(required=False, help_text=FILTER_HELP)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("sample_ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError("Give either sample_ids or filter (one of them).")
        return attrs


class TagMembersResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Samples added (or removed) by this request.")
    tag = TagSerializer()


class TagCombineSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, help_text="Name of the new tag.")
    operation = serializers.ChoiceField(
        choices=list(TAG_OPERATIONS),
        help_text="union (in any), intersection (in all), difference (first minus the others).",
    )
    tags = serializers.ListField(
        child=id_field(), min_length=2, max_length=100, help_text="Ids of tags of this dataset."
    )
