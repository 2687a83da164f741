"""Running a job the API started, synchronously, and reading it back through the API."""

from __future__ import annotations

from typing import Any

from curation.jobs.services import job_execute
from curation.models import Job


def accepted_job(response: Any) -> Job:
    """The job a ``202 {"job": id, "url": …}`` answer names."""
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body == {"job": body["job"], "url": f"/api/jobs/{body['job']}/"}
    return Job.objects.get(pk=body["job"])


def run_job(api: Any, who: str, response: Any) -> dict[str, Any]:
    """Execute the accepted job here (as a worker would) and return ``GET /api/jobs/<id>/``."""
    job = accepted_job(response)
    assert job.status == Job.Status.QUEUED
    job_execute(job_id=job.pk)
    answer = api(who).get(response.json()["url"])
    assert answer.status_code == 200, answer.json()
    return answer.json()
