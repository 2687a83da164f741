"""``/api/datasets/{id}/selection-defaults/``: the mask and pre-selection tags every new
selection of a dataset uses unless the run names its own (``selection_defaults``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user
from curation.api.serializers_common import StrictSerializer, errors
from curation.api.views_base import CurationAPIView
from curation.models import Dataset
from curation.runs.defaults import dataset_defaults_update

TAG = ["runs"]


class SelectionDefaultsSerializer(StrictSerializer):
    default_mask_tag = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        max_length=200,
        help_text="Tag whose samples are never selected; null: none.",
    )
    default_preselected_tag = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        max_length=200,
        help_text="Tag whose samples are selected first; null: none.",
    )


def _data(dataset: Dataset) -> dict[str, Any]:
    mask, pre = dataset.default_mask_tag, dataset.default_preselected_tag
    return {
        "default_mask_tag": mask.name if mask else None,
        "default_preselected_tag": pre.name if pre else None,
    }


class SelectionDefaultsView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="selection_defaults_retrieve",
        summary="The dataset's default mask and pre-selection tags",
        responses={200: SelectionDefaultsSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        return Response(_data(get_dataset_for_user(request.user, dataset_id)))

    @extend_schema(
        tags=TAG,
        operation_id="selection_defaults_update",
        summary="Set (or clear, with null) the dataset's default mask and pre-selection",
        request=SelectionDefaultsSerializer,
        responses={200: SelectionDefaultsSerializer, **errors(400, 401, 404)},
    )
    def put(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        body = SelectionDefaultsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dataset_defaults_update(
            dataset=dataset,
            mask_tag=body.validated_data["default_mask_tag"],
            preselected_tag=body.validated_data["default_preselected_tag"],
        )
        return Response(_data(dataset))
