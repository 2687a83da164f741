"""Datasets and samples as JSON."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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

    class Meta:
        model = Sample
        fields = ["id", "file_name", "width", "height", "size_bytes", "metadata", "created"]
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
