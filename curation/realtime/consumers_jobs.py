"""``/ws/jobs/<id>/``: a job's progress, pushed as rendered HTML for htmx's ws extension."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.http import Http404

from curation.jobs.services import job_get_for_user
from curation.realtime.job_events import job_group_name, render_job_progress


class JobProgressConsumer(WebsocketConsumer):
    """The current state on connect, then every progress update.

    Anonymous users and users who may not see the job (its dataset, or their own job) are
    refused at the handshake.
    """

    group_name = ""

    def connect(self) -> None:
        user = self.scope.get("user")
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        try:
            job = job_get_for_user(user, job_id)
        except Http404:
            self.close()
            return
        self.group_name = job_group_name(job.pk)
        async_to_sync(self.channel_layer.group_add)(self.group_name, self.channel_name)
        self.accept()
        self.send(text_data=render_job_progress(job))

    def disconnect(self, code: int) -> None:
        if self.group_name:
            async_to_sync(self.channel_layer.group_discard)(self.group_name, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored."""

    def job_progress(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["html"])
