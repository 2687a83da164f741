"""Selection runs: start (config or preset), list, status, cancel, re-run, result."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from curation.access import get_dataset_for_user, get_preset_for_user, get_run_for_user
from curation.api.pagination import IdCursorPagination, paginate
from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.models import Sample, SelectionRun
from curation.runs.defaults import DATASET_DEFAULT
from curation.runs.serializers import (
    RunRerunSerializer,
    RunResultSerializer,
    RunSerializer,
    RunStartSerializer,
)
from curation.runs.services import (
    selection_run_cancel,
    selection_run_rerun,
    selection_run_start,
)

TAG = ["runs"]


class RunNotFinished(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The run has not finished."


def _run(pk: int) -> SelectionRun:
    return SelectionRun.objects.select_related("created_by", "dataset").get(pk=pk)


class DatasetRunListView(CurationAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        tags=TAG,
        operation_id="runs_list",
        summary="Selection runs of a dataset",
        responses={200: RunSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        runs = SelectionRun.objects.filter(dataset=dataset).select_related("created_by")
        return paginate(self, request, runs, RunSerializer)

    @extend_schema(
        tags=TAG,
        operation_id="runs_create",
        summary="Start a selection; poll GET /api/runs/{id}/ until it has finished",
        request=RunStartSerializer,
        responses={201: RunSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        dataset = get_dataset_for_user(request.user, dataset_id)
        context = {"dataset": dataset, "user": request.user}  # view=NAME in the filter
        body = RunStartSerializer(data=request.data, context=context)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        preset = None
        config: Any = data.get("config")
        if "preset" in data:
            try:
                preset = get_preset_for_user(request.user, data["preset"])
            except Http404:
                raise ValidationError({"preset": f"No preset with id {data['preset']}."}) from None
            config = preset.config
        run = selection_run_start(
            dataset=dataset,
            config=config,
            result_tag_name=data["result_tag_name"],
            user=request.user,
            candidate_filter=data.get("filter"),
            mask_tag=data.get("mask_tag", DATASET_DEFAULT),  # absent: the dataset's default
            preselected_tag=data.get("preselected_tag", DATASET_DEFAULT),
            preset=preset,
            knn=data.get("knn"),
        )
        return Response(RunSerializer(_run(run.pk)).data, status=status.HTTP_201_CREATED)


class RunDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="runs_retrieve",
        summary="Status and progress of a run",
        responses={200: RunSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = get_run_for_user(request.user, run_id)
        return Response(RunSerializer(_run(run.pk)).data)


class RunCancelView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="runs_cancel",
        summary="Cancel a queued or running run",
        request=None,
        responses={200: RunSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = selection_run_cancel(run=get_run_for_user(request.user, run_id), user=request.user)
        return Response(RunSerializer(_run(run.pk)).data)


class RunRerunView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="runs_rerun",
        summary="Start a new run with the same config, filter and options",
        request=RunRerunSerializer,
        responses={201: RunSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = get_run_for_user(request.user, run_id)
        body = RunRerunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new = selection_run_rerun(
            run=run, user=request.user, result_tag_name=body.validated_data.get("result_tag_name")
        )
        return Response(RunSerializer(_run(new.pk)).data, status=status.HTTP_201_CREATED)


class RunResultView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="runs_result",
        summary="The picks of a succeeded run in pick order, with file names and explanations",
        responses={200: RunResultSerializer, **errors(401, 404, 409)},
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = get_run_for_user(request.user, run_id)
        if run.status != SelectionRun.Status.SUCCEEDED:
            raise RunNotFinished(
                f"Run {run.pk} is {run.get_status_display().lower()}, not succeeded: poll "
                f"/api/runs/{run.pk}/ until its status is succeeded."
            )
        explanation = run.explanation or {}
        rows = {row["sample_id"]: row for row in explanation.get("picks", [])}
        names = dict(Sample.objects.filter(pk__in=run.pick_order).values_list("pk", "file_name"))
        picks = [
            {
                "rank": rank,
                "sample_id": sample_id,
                "file_name": names.get(sample_id, ""),
                "terms": rows.get(sample_id, {}).get("terms", {}),
            }
            for rank, sample_id in enumerate(run.pick_order)
        ]
        data = {
            "run": run.pk,
            "status": run.status,
            "result_tag": run.result_tag_id,
            "result_tag_name": run.result_tag_name,
            "stopped_by": run.stopped_by,
            "message": run.message,
            "labels": explanation.get("labels", []),
            "picks": picks,
        }
        return Response(data)
