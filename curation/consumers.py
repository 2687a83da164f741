"""Websocket consumers. Progress is pushed as rendered HTML for htmx's ws extension."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.http import Http404

from curation.access import get_run_for_user
from curation.services.run_events import render_run_progress, run_group_name
from curation.services.selection import selection_runs_recover


class RunProgressConsumer(WebsocketConsumer):
    """``/ws/runs/<id>/``: the current state on connect, then every progress update.

    Anonymous users and users who may not see the run's dataset are refused at the handshake.
    """

    group_name = ""

    def connect(self) -> None:
        user = self.scope.get("user")
        run_id = self.scope["url_route"]["kwargs"]["run_id"]
        if getattr(user, "is_authenticated", False):
            selection_runs_recover()  # a run whose worker died is shown as failed
        try:
            run = get_run_for_user(user, run_id)
        except Http404:
            self.close()
            return
        self.group_name = run_group_name(run.pk)
        async_to_sync(self.channel_layer.group_add)(self.group_name, self.channel_name)
        self.accept()
        self.send(text_data=render_run_progress(run))

    def disconnect(self, code: int) -> None:
        if self.group_name:
            async_to_sync(self.channel_layer.group_discard)(self.group_name, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored."""

    def run_progress(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["html"])
