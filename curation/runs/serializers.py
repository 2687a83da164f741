"""Selection runs as JSON."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from curation.api.serializers_common import StrictSerializer, id_field
from curation.models import SelectionRun
from curation.presets.serializers import CONFIG_HELP, ConfigField
from curation.runs.defaults import run_counts
from curation.tags.serializers import FILTER_HELP, SampleFilterField


class RunSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    preset = serializers.IntegerField(source="preset_id", read_only=True, allow_null=True)
    result_tag = serializers.IntegerField(source="result_tag_id", read_only=True, allow_null=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    config = serializers.JSONField(read_only=True)
    candidate_filter = serializers.JSONField(read_only=True)
    options = serializers.JSONField(read_only=True)
    timings = serializers.JSONField(read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    candidates = serializers.SerializerMethodField(
        help_text='"N candidates (M masked, K pre-selected)", as every page shows it.'
    )

    class Meta:
        model = SelectionRun
        fields = [
            "id",
            "dataset",
            "preset",
            "status",
            "progress",
            "picks_done",
            "candidate_count",
            "candidates",
            "requested_n",
            "selected_count",
            "result_tag_name",
            "result_tag",
            "stopped_by",
            "message",
            "error",
            "config",
            "candidate_filter",
            "options",
            "timings",
            "created_by",
            "created",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    def get_candidates(self, obj: SelectionRun) -> str | None:
        counts = run_counts(obj)
        return counts.describe() if counts is not None else None


class RunStartSerializer(StrictSerializer):
    config = ConfigField(required=False, help_text=CONFIG_HELP + " Give config or preset.")
    preset = id_field(required=False, help_text="Id of a preset to run (instead of a config).")
    result_tag_name = serializers.CharField(
        max_length=200, help_text="Name of the new tag that will hold the selection."
    )
    filter = SampleFilterField(required=False, help_text="Candidates: " + FILTER_HELP)
    mask_tag = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=200,
        help_text='Samples never selected. Absent: the dataset\'s default mask; null or "": none.',
    )
    preselected_tag = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=200,
        help_text="Samples selected first. Absent: the dataset's default pre-selection; null "
        'or "": none.',
    )

    knn = serializers.JSONField(
        required=False,
        help_text='How TYPICALITY finds neighbours: {"mode": "auto" | "exact" | "approximate", '
        '"approximate_above": rows}. Default auto: exact up to 200,000 candidates, approximate '
        "(IVF; its measured recall@K is in the run's notes) above.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("config" in attrs) == ("preset" in attrs):
            raise serializers.ValidationError("Give either config or preset (one of them).")
        return attrs


class RunRerunSerializer(StrictSerializer):
    result_tag_name = serializers.CharField(
        max_length=200, required=False, help_text="Default: the original run's tag name."
    )


class PickSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="0 = first pick (pre-selected samples first).")
    sample_id = serializers.IntegerField()
    file_name = serializers.CharField()
    terms = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Gain of each strategy (by label) when the sample was picked.",
    )


class RunResultSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.CharField()
    result_tag = serializers.IntegerField(allow_null=True)
    result_tag_name = serializers.CharField()
    stopped_by = serializers.CharField()
    message = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField(), help_text="Strategy labels.")
    picks = PickSerializer(many=True)
