"""Datasets and samples as JSON.

A samples list may carry each sample's tags, annotations and scores (``?expand=tags,
annotations``, ``SampleListItemSerializer``), so a client reads them for a whole page in one
request instead of one detail request per sample.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from curation.access import can_delete_dataset
from curation.api.serializers_common import StrictSerializer
from curation.models import Annotation, Dataset, Sample


class DatasetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    sample_count = serializers.IntegerField(read_only=True)
    tag_count = serializers.IntegerField(read_only=True)
    can_delete = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "description",
            "image_root",  # the server folder sample file names are relative to (file_path_abs)
            "owner",
            "team",
            "sample_count",
            "tag_count",
            "can_delete",
            "created",
            "updated",
        ]
        read_only_fields = fields

    def get_can_delete(self, obj: Dataset) -> bool:
        request = self.context.get("request")
        return bool(request and can_delete_dataset(request.user, obj))


class DatasetCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    team = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=150,
        help_text="Name of one of your teams to share the dataset with; omit or null = only you.",
    )


class SampleSerializer(serializers.ModelSerializer):
    metadata = serializers.JSONField(read_only=True)
    video = serializers.CharField(
        source="video.name",
        read_only=True,
        allow_null=True,
        help_text="Name of the video this sample is a frame of; null for an image.",
    )
    frame_index = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Index of the frame in its video; null for an image.",
    )

    class Meta:
        model = Sample
        fields = ["id", "file_name", "width", "height", "size_bytes", "metadata", "created"]
        fields += ["video", "frame_index"]
        read_only_fields = fields


class AnnotationSerializer(serializers.ModelSerializer):
    task = serializers.CharField(source="task.name")
    kind = serializers.CharField(source="task.kind")
    bbox = serializers.SerializerMethodField(help_text="[x, y, width, height] in pixels or null.")
    probabilities = serializers.JSONField()

    class Meta:
        model = Annotation
        fields = ["task", "kind", "label", "bbox", "score", "probabilities"]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(
            child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True
        )
    )
    def get_bbox(self, obj: Annotation) -> list[float] | None:
        box = obj.bbox
        return list(box) if box else None


class ScoreSerializer(serializers.Serializer):
    task = serializers.CharField()
    name = serializers.CharField()
    value = serializers.FloatField()


class TagRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SampleDetailSerializer(SampleSerializer):
    annotations = AnnotationSerializer(many=True, read_only=True)
    scores = ScoreSerializer(many=True, read_only=True)
    tags = TagRefSerializer(many=True, read_only=True)

    class Meta(SampleSerializer.Meta):
        fields = [*SampleSerializer.Meta.fields, "annotations", "scores", "tags"]
        read_only_fields = fields


EXPANDABLE = ("tags", "annotations", "scores")


def sample_expand_parse(raw: str | None) -> tuple[str, ...]:
    """The ``expand`` parameter of a samples list: a comma-separated subset of EXPANDABLE."""
    parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
    unknown = [part for part in parts if part not in EXPANDABLE]
    if unknown:
        known = ", ".join(EXPANDABLE)
        raise ValidationError(
            {"expand": f"Unknown value {unknown[0]!r}: use {known} (comma-separated)."}
        )
    return tuple(name for name in EXPANDABLE if name in parts)


class SampleListItemSerializer(SampleSerializer):
    """A sample of a list; ``annotations``, ``scores`` and ``tags`` only when the request's
    ``expand`` names them (the view prefetches exactly those)."""

    annotations = AnnotationSerializer(
        many=True, read_only=True, required=False, help_text="With expand=annotations."
    )
    scores = ScoreSerializer(
        many=True, read_only=True, required=False, help_text="With expand=scores."
    )
    tags = TagRefSerializer(
        many=True, read_only=True, required=False, help_text="With expand=tags."
    )

    class Meta(SampleSerializer.Meta):
        fields = [*SampleSerializer.Meta.fields, "annotations", "scores", "tags"]
        read_only_fields = fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        raw = request.query_params.get("expand") if request is not None else None
        wanted = sample_expand_parse(raw) if raw else ()
        for name in EXPANDABLE:
            if name not in wanted:
                self.fields.pop(name)
