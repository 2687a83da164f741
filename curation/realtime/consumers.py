"""Websocket consumers. Progress is pushed as rendered HTML for htmx's ws extension.

A handshake that cannot be served is refused cleanly (closed before it is accepted, never a
500): an unknown path, a run the user may not see, or a channel layer (Redis) that is down. The
browser's htmx ws extension retries a refused connection with a growing delay, and every
accepted connection starts with the run's current state read from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import StopConsumer
from channels.generic.websocket import WebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.http import Http404

from curation.access import get_run_for_user
from curation.realtime.run_events import render_run_progress, run_group_name

logger = logging.getLogger(__name__)


def group_join_or_refuse(consumer: LayerResilientConsumer, group: str) -> bool:
    """Join ``group`` on the channel layer; on failure refuse the handshake and return False."""
    try:
        async_to_sync(consumer.channel_layer.group_add)(group, consumer.channel_name)
    except Exception as exc:
        logger.warning(
            "Websocket refused: the channel layer is unavailable (%s: %s)", type(exc).__name__, exc
        )
        consumer.refuse()
        return False
    return True


def group_leave_quietly(consumer: WebsocketConsumer, group: str) -> None:
    if not group:
        return
    try:
        async_to_sync(consumer.channel_layer.group_discard)(group, consumer.channel_name)
    except Exception as exc:  # Redis down: the membership expires on its own
        logger.info("Could not leave group %s (%s)", group, type(exc).__name__)


class LayerResilientConsumer(WebsocketConsumer):
    """A websocket consumer that survives its channel layer going away.

    Channels listens on the layer (Redis) for the whole life of a consumer; when Redis is down
    that listen fails and, unhandled, turns the handshake into a 500. Here the failure becomes a
    ``channel.layer.lost`` event: a handshake still pending is refused, an open socket is
    closed with 1011, and the browser's htmx ws extension reconnects later and is sent the
    state stored in the database.
    """

    accepted = False
    refused = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        layer = get_channel_layer(self.channel_layer_alias)
        if layer is None:
            await super().__call__(scope, receive, send)
            return
        self.scope = scope
        self.channel_layer = layer
        self.channel_name = await layer.new_channel()
        self.channel_receive = functools.partial(self._layer_receive, self.channel_name)
        self.base_send = async_to_sync(send)
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive, self.channel_receive], self.dispatch)

    async def _layer_receive(self, channel: str) -> dict[str, Any]:
        if getattr(self, "_layer_lost", False):
            await asyncio.Event().wait()  # nothing more from the layer; cancelled on exit
        try:
            return dict(await self.channel_layer.receive(channel))
        except Exception as exc:
            self._layer_lost = True
            logger.warning(
                "Websocket %s: the channel layer is unavailable (%s)",
                self.scope.get("path", ""),
                type(exc).__name__,
            )
            return {"type": "channel.layer.lost"}

    def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        super().accept(subprotocol, headers)
        self.accepted = True

    def refuse(self) -> None:
        """Refuse the handshake (once)."""
        if not self.refused and not self.accepted:
            self.refused = True
            self.close()

    def channel_layer_lost(self, event: dict[str, Any]) -> None:
        if self.accepted:
            self.close(code=1011)  # the client reconnects and is sent the current state
        else:
            self.refuse()


class UnknownPathConsumer(WebsocketConsumer):
    """Every websocket path no route matches: refused at the handshake (without the layer)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = None
        self.base_send = async_to_sync(send)
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive], self.dispatch)

    def connect(self) -> None:
        self.close()


class RunProgressConsumer(LayerResilientConsumer):
    """``/ws/runs/<id>/``: the current state on connect, then every progress update.

    Anonymous users and users who may not see the run's dataset are refused at the handshake.
    """

    group_name = ""

    def connect(self) -> None:
        if self.refused:  # the channel layer was already found down
            return
        user = self.scope.get("user")
        run_id = self.scope["url_route"]["kwargs"]["run_id"]
        try:
            run = get_run_for_user(user, run_id)
        except Http404:
            self.refuse()
            return
        except Exception:  # e.g. the database is away: refuse, the browser retries
            logger.exception("Websocket for run %s refused", run_id)
            self.refuse()
            return
        if not group_join_or_refuse(self, run_group_name(run.pk)):
            return
        self.group_name = run_group_name(run.pk)
        self.accept()
        self.send(text_data=render_run_progress(run))

    def disconnect(self, code: int) -> None:
        group_leave_quietly(self, self.group_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored."""

    def run_progress(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["html"])
