"""Videos as JSON: the facts of a video and the link to its frames in the sample list."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from rest_framework import serializers

from curation.models import Video


class VideoSerializer(serializers.ModelSerializer):
    frames = serializers.SerializerMethodField(
        help_text="The sample list filtered to this video's frames (video=NAME), in id order."
    )

    class Meta:
        model = Video
        fields = [
            "id",
            "name",
            "fps",
            "duration_s",
            "frame_count",
            "width",
            "height",
            "size_bytes",
            "codec",
            "frame_step",
            "created",
            "frames",
        ]
        read_only_fields = fields

    def get_frames(self, obj: Video) -> str:
        path = reverse("api-sample-list", args=[obj.dataset_id])
        url = f"{path}?{urlencode({'video': obj.name})}"
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url
