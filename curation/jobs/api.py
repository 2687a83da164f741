"""Background jobs (imports): status and cancel. Upload endpoints answer 202 with the job."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from curation.api.serializers_common import errors
from curation.api.views_base import CurationAPIView
from curation.jobs.services import job_cancel, job_get_for_user
from curation.models import Job

TAG = ["jobs"]


class JobSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True, allow_null=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    summary = serializers.JSONField(
        read_only=True,
        help_text="The import (or deletion) summary once the job succeeded (else {}).",
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "dataset",
            "dataset_name",
            "status",
            "stage",
            "done",
            "total",
            "progress",
            "message",
            "error",
            "summary",
            "cancel_requested",
            "created_by",
            "created",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class JobAcceptedSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="The job's id.")
    url = serializers.CharField(help_text="Poll this URL (GET) for the job's status and summary.")


def job_accepted(job: Job) -> Response:
    """``202 Accepted`` naming the job that does the work."""
    url = reverse("api-job-detail", kwargs={"job_id": job.pk})
    return Response({"job": job.pk, "url": url}, status=status.HTTP_202_ACCEPTED)


class JobDetailView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="jobs_retrieve",
        summary="A background job (an import or a dataset deletion): status, progress, outcome",
        description=(
            "Visible to whoever may see the job's dataset, and to the job's creator (a failed "
            "import that created its dataset removes that dataset again)."
        ),
        responses={200: JobSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(JobSerializer(job_get_for_user(request.user, job_id)).data)


class JobCancelView(CurationAPIView):
    @extend_schema(
        tags=TAG,
        operation_id="jobs_cancel",
        summary="Cancel a queued or running job (nothing it did is kept)",
        request=None,
        responses={200: JobSerializer, **errors(400, 401, 404)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_cancel(job=job_get_for_user(request.user, job_id), user=request.user)
        return Response(JobSerializer(job_get_for_user(request.user, job.pk)).data)
