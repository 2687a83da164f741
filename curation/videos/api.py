"""``/api/datasets/{id}/videos/``: a dataset's videos (cursor-paginated by id) and one video.

A video's frames are samples: each video links to the sample list filtered by ``video=NAME``
(``frames``), where every sample carries its ``video`` and ``frame_index``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.models import Video
from curation.videos.selectors import video_get
from curation.videos.serializers import VideoSerializer

TAG = ["videos"]


class VideoListView(CurationAPIView):
    pagination_class = IdCursorPagination  # documents ?cursor and ?page_size

    @extend_schema(
        tags=TAG,
        operation_id="videos_list",
        summary="Videos of a dataset, in id order",
        responses={200: VideoSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        return paginate(self, request, Video.objects.filter(dataset=dataset), VideoSerializer)


class VideoDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="videos_retrieve",
        summary="One video of a dataset, with the link to its frames",
        responses={200: VideoSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, dataset_id: int, video_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        video = video_get(dataset, video_id)
        return Response(VideoSerializer(video, context={"request": request}).data)
