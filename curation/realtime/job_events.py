"""Pushing a job's progress to every watching browser, after the transaction commits.

Best effort: a channel layer that is away (Redis restarting) never fails the job; the job row
stays the truth and the page shows it on reload.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

from curation.models import Job

logger = logging.getLogger(__name__)


def job_group_name(job_id: int) -> str:
    return f"job-{job_id}"


def render_job_progress(job: Job) -> str:
    """The ``#job-progress`` fragment; htmx's ws extension swaps it in place (out of band)."""
    return render_to_string("curation/job_detail.html#progress", {"job": job, "oob": True})


def job_progress_push(job: Job) -> None:
    """Send the job's progress fragment to its group once the current transaction commits."""

    def send() -> None:
        try:
            layer = get_channel_layer()
            if layer is None:
                return
            html = render_job_progress(job)
            async_to_sync(layer.group_send)(
                job_group_name(job.pk), {"type": "job.progress", "html": html}
            )
        except Exception:  # progress pushes are best effort
            logger.warning("Could not push the progress of job %s", job.pk, exc_info=True)

    transaction.on_commit(send)
