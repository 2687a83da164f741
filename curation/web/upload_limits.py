"""A request body over ``CURATION_MAX_UPLOAD_MB`` is answered 413 with one sentence.

ASGI middleware around Django's HTTP application: a ``Content-Length`` over the limit is
refused before a byte of the body is read; a body without one (chunked) is counted while it
streams and refused as soon as it passes the limit (Django then drops what it spooled, so
nothing is written). ``0`` turns the limit off.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Message = dict[str, Any]


def max_upload_bytes() -> int:
    return int(getattr(settings, "CURATION_MAX_UPLOAD_MB", 0) or 0) * 1024 * 1024


def too_large_message() -> str:
    limit = getattr(settings, "CURATION_MAX_UPLOAD_MB", 0)
    return (
        f"The upload is larger than this server accepts ({limit} MB): split it into smaller "
        "uploads, or import the files from a server folder."
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def refuse_too_large(scope: Scope, send: Any) -> None:
    message = too_large_message()
    if scope.get("path", "").startswith("/api/"):
        body, kind = json.dumps({"detail": message}).encode(), b"application/json"
    else:
        body, kind = message.encode(), b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UploadLimitMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        limit = max_upload_bytes()
        if scope["type"] != "http" or limit <= 0:
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > limit:
            await refuse_too_large(scope, send)
            return
        received = 0
        over = started = False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}  # Django drops the request
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)
        if over and not started:
            await refuse_too_large(scope, send)
