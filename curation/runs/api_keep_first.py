"""``POST /api/runs/{id}/keep-first/``: a new tag with the first k picks of a succeeded run.

The same rule as the run page's "keep only the first k" form (``runs.keep_first``): the stored
pick order is cut, no re-run; a sequence run (``selected_sequence_length`` L) keeps whole
sequences, so a k that is no multiple of L is a 400 naming L and the nearest valid values; the
tag is written by ``tag_create`` (name rules, a name taken is one sentence).
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
from curation.models import SelectionRun
from curation.runs.api import RunNotFinished
from curation.runs.keep_first import KeepFirstError, run_keep_first
from curation.tags.api import tag_data
from curation.tags.serializers import TagSerializer


class KeepFirstSerializer(StrictSerializer):
    k = StrictIntegerField(
        min_value=1,
        help_text="How many of the first picks to keep (for a run with selected_sequence_length "
        "L: a multiple of L, whole sequences).",
    )
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
        try:
            tag = run_keep_first(
                run=run,
                k=body.validated_data["k"],
                name=body.validated_data.get("tag_name"),
                user=request.user,
            )
        except KeepFirstError as exc:
            raise ValidationError({"k": f"must be {exc.clause}."}) from None
        return Response(tag_data(tag), status=status.HTTP_201_CREATED)
