"""``POST /api/runs/{id}/keep-first/``: a new tag with the first k picks of a succeeded run.

The same rule as the run page's "keep only the first k" form: the stored pick order is cut, no
re-run; the tag is written by ``tag_create`` (name rules, a name taken is one sentence).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_run_for_user
from curation.api.parsers import StrictJSONParser
from curation.api.serializers_common import StrictIntegerField, StrictSerializer, errors
from curation.api.views_base import CurationAPIView
from curation.models import SelectionRun, Tag
from curation.runs.api import RunNotFinished
from curation.tags.api import tag_data
from curation.tags.serializers import TagSerializer
from curation.tags.services import tag_create


class KeepFirstSerializer(StrictSerializer):
    k = StrictIntegerField(min_value=1, help_text="How many of the first picks to keep.")
    tag_name = serializers.CharField(
        max_length=200,
        required=False,
        help_text="Name of the new tag (default: '<result tag>-first-<k>').",
    )


class RunKeepFirstView(CurationAPIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=["runs"],
        operation_id="runs_keep_first",
        summary="A new tag with the first k picks of a succeeded run (no re-run)",
        request=KeepFirstSerializer,
        responses={201: TagSerializer, **errors(400, 401, 404, 409)},
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = get_run_for_user(request.user, run_id)
        body = KeepFirstSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if run.status != SelectionRun.Status.SUCCEEDED:
            raise RunNotFinished(
                f"Run {run.pk} is {run.get_status_display().lower()}: only a succeeded run has "
                "picks to keep."
            )
        order = list(run.pick_order or [])
        k = body.validated_data["k"]
        if k > len(order):
            raise ValidationError({"k": f"must be at most {len(order)}, the run's pick count."})
        name = body.validated_data.get("tag_name") or f"{run.result_tag_name}-first-{k}"
        tag = tag_create(
            dataset=run.dataset,
            name=name,
            sample_ids=order[:k],
            kind=Tag.Kind.SELECTION,
            created_by=request.user,
            description=f"The first {k} picks of selection run {run.pk}",
        )
        return Response(tag_data(tag), status=status.HTTP_201_CREATED)
