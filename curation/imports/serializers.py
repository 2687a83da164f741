"""Multipart uploads (embeddings, metadata, annotations, predictions) and import summaries."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from curation.api.serializers_common import StrictSerializer
from curation.imports.services import EMBED_CHOICES
from curation.models import EmbeddingSpace


class FormBooleanField(serializers.BooleanField):
    """A multipart boolean whose absence means its default (not False, as for HTML checkboxes)."""

    default_empty_html = empty


class EmbeddingSpaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmbeddingSpace
        fields = ["id", "name", "dimension", "count", "normalized", "created", "updated"]
        read_only_fields = fields


class EmbeddingUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="Lightly embeddings .csv (filenames, embedding_0…, optional labels/masked/"
        "selected), a .npy matrix (with file_names) or .parquet."
    )
    file_names = serializers.FileField(
        required=False,
        help_text="For .npy: the file names of the rows, one a line (.txt) or a JSON list (.json).",
    )
    name = serializers.RegexField(
        r"^[A-Za-z0-9_.-]{1,100}$",
        required=False,
        help_text="Name of the embedding space (default 'default'); an existing one is replaced.",
    )
    normalize = FormBooleanField(default=True, help_text="Unit-normalise the rows (default true).")
    create_samples = FormBooleanField(
        default=False,
        help_text="Create samples (without pixels) for file names the dataset does not have yet; "
        "otherwise unknown names are an error.",
    )


class MetadataUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="CSV with a file_name column (or filenames) and one column per key, or JSONL."
    )


class AnnotationUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="COCO .json or a classification .csv (file_name,label).")


class PredictionUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="COCO .json (dataset or results list), or a classification .csv with scores."
    )
    task = serializers.RegexField(
        r"^[A-Za-z0-9_.-]{1,100}$",
        required=False,
        help_text="Prediction task name (default: the file name without extension).",
    )
    coco_reference = serializers.FileField(
        required=False,
        help_text="For a COCO results list: the COCO file its image and category ids refer to.",
    )


class VideoRateSerializer(StrictSerializer):
    """``video_every`` or ``video_fps``: which frames of the videos in the folder become samples
    (default: 1 frame per second)."""

    video_every = serializers.IntegerField(
        required=False, min_value=1, help_text="Keep every k-th decoded frame of each video."
    )
    video_fps = serializers.FloatField(
        required=False,
        min_value=0.001,
        max_value=1000,
        help_text="Keep N frames per second of video (default 1; not with video_every).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("video_every") is not None and attrs.get("video_fps") is not None:
            raise serializers.ValidationError(
                {"video_fps": "Give either video_every or video_fps, not both."}
            )
        return attrs

    def video_options(self) -> dict[str, Any]:
        """The rate as ``dataset_import`` options (only those given)."""
        data = self.validated_data
        return {k: data[k] for k in ("video_every", "video_fps") if data.get(k) is not None}


class ServerImportSerializer(VideoRateSerializer):
    """Paths on the server, below an import root the caller may use (or, in embedded mode, any
    folder for a staff account on the same machine)."""

    images = serializers.CharField(
        required=False, max_length=4096, help_text="Folder of images and videos."
    )
    embeddings = serializers.CharField(required=False, max_length=4096)
    embedding_name = serializers.RegexField(r"^[A-Za-z0-9_.-]{1,100}$", required=False)
    metadata = serializers.CharField(required=False, max_length=4096)
    annotations = serializers.CharField(required=False, max_length=4096)
    predictions = serializers.ListField(
        child=serializers.CharField(max_length=4096), required=False, max_length=100
    )
    embed = serializers.ChoiceField(
        choices=list(EMBED_CHOICES),
        required=False,
        help_text="The built-in embedding of the images: auto (default: when the dataset has no "
        "other embedding space and none is given), always or never.",
    )
    object_embeddings = serializers.CharField(
        required=False,
        max_length=4096,
        help_text="Object embeddings (.csv or .npy) of the boxes of object_task, stored in the "
        "same all-or-nothing import as the images and annotations they refer to.",
    )
    object_ids = serializers.CharField(
        required=False, max_length=4096, help_text="Key CSV of an object_embeddings .npy."
    )
    object_coco = serializers.CharField(
        required=False,
        max_length=4096,
        help_text="COCO file whose annotation ids the object rows use (default: a COCO "
        "annotations file, for object_task ground_truth).",
    )
    object_task = serializers.CharField(
        required=False, max_length=200, help_text="The detection task of object_embeddings."
    )
    object_embedding_name = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,100}$",
        required=False,
        help_text="Object space name (default objects:<object_task>).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("object_embeddings") and not attrs.get("object_task"):
            raise serializers.ValidationError(
                {"object_task": "Name the detection task of the object embeddings."}
            )
        return attrs


class ImportSummarySerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    images_added = serializers.IntegerField()
    images_skipped = serializers.IntegerField()
    images_failed = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="[file name, reason] of images that could not be read.",
    )
    samples_without_pixels = serializers.IntegerField()
    videos_added = serializers.IntegerField(required=False)
    video_frames = serializers.IntegerField(required=False, help_text="Frames kept as samples.")
    videos_skipped = serializers.IntegerField(required=False, help_text="Already there.")
    unsupported = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Files of the folder that are neither images nor videos (skipped).",
    )
    metadata_rows = serializers.IntegerField()
    embeddings = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Space name -> [rows, dimension].",
    )
    object_embeddings = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Object space name -> [objects, dimension].",
    )
    annotations = serializers.DictField(child=serializers.IntegerField())
    scores = serializers.DictField(child=serializers.IntegerField())
    tags = serializers.DictField(child=serializers.IntegerField())
    notes = serializers.ListField(child=serializers.CharField())
    seconds = serializers.FloatField()
