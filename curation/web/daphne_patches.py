"""Daphne (Twisted) must not hold a request body in memory; ``install`` makes it so.

Measured with a 300 MB multipart upload, stock Daphne 4.2 peaked at 3.3 GB of RSS even in
front of an application that discards the body, for two reasons this module removes:

1. Twisted's ``Request.requestReceived`` parses every ``multipart/form-data`` POST itself (into
   ``request.args``, which Daphne never reads) with the ``email`` parser: the whole body, read
   into memory and copied several times. ``_parsePOSTFormSubmission = False`` (set on each
   request when its length is known) turns it off.
2. Daphne then pushes the whole body, already spooled to a temporary file by Twisted, into the
   application's unbounded input queue in 8 kB messages at once. ``_SpoolingQueue`` keeps those
   chunks in a spooled temporary file (on disk beyond ``FILE_UPLOAD_MAX_MEMORY_SIZE``) and
   hands each one over only when the application asks for it.

And a body over ``CURATION_MAX_UPLOAD_MB`` is refused with 413 and one sentence by Twisted
itself: at once when ``Content-Length`` says so (the body is never read), and as soon as a
chunked body passes the limit (``curation.web.upload_limits`` does the same for any ASGI server).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from functools import partial
from typing import Any

from django.conf import settings

from curation.web.upload_limits import max_upload_bytes, too_large_message


class _SpoolingQueue(asyncio.Queue):
    """An application input queue that keeps ``http.request`` bodies on disk until read."""

    def __init__(self) -> None:
        super().__init__()
        self._spool: Any = None
        self._written = 0
        self._read = 0

    def put_nowait(self, item: Any) -> None:
        body = item.get("body") if isinstance(item, dict) else None
        if item.get("type") == "http.request" and body:
            if self._spool is None:
                self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed in get)
                    max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE
                )
            self._spool.seek(self._written)
            self._spool.write(body)
            self._written += len(body)
            item = {**item, "body": b"", "_spooled": len(body)}
        super().put_nowait(item)

    async def get(self) -> Any:
        item = await super().get()
        size = item.pop("_spooled", None) if isinstance(item, dict) else None
        if size is not None:
            self._spool.seek(self._read)
            item["body"] = self._spool.read(size)
            self._read += size
            if not item.get("more_body"):
                self._spool.close()
                self._spool = None
        return item


def _create_application(server: Any, protocol: Any, scope: dict[str, Any]) -> Any:
    """Daphne's ``Server.create_application`` (4.2), with a ``_SpoolingQueue`` for HTTP."""
    assert "application_instance" not in server.connections[protocol]
    input_queue = _SpoolingQueue() if scope.get("type") == "http" else asyncio.Queue()
    scope.setdefault("asgi", {"version": "3.0"})
    application_instance = server.application(
        scope=scope, receive=input_queue.get, send=partial(server.handle_reply, protocol)
    )
    if protocol not in server.connections:
        return None
    server.connections[protocol]["application_instance"] = asyncio.ensure_future(
        application_instance, loop=asyncio.get_event_loop()
    )
    return input_queue


def _refuse(request: Any) -> None:
    """Answer 413 with one sentence and close the connection (the rest is never read)."""
    body = too_large_message().encode()
    request._curation_refused = True
    with contextlib.suppress(Exception):
        request.channel.transport.write(
            b"HTTP/1.1 413 Content Too Large\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            + f"Content-Length: {len(body)}\r\n".encode()
            + b"Connection: close\r\n\r\n"
            + body
        )
        request.channel.loseConnection()


def install() -> None:
    """Patch Daphne's request and server classes (idempotent; a no-op without Daphne)."""
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
    except ImportError:
        return
    if getattr(WebRequest, "_curation_patched", False):
        return
    Server.create_application = _create_application
    original_got_length = WebRequest.gotLength
    original_chunk = WebRequest.handleContentChunk

    def got_length(self: Any, length: int | None) -> None:
        self._parsePOSTFormSubmission = False  # set per instance by Request.__init__
        self._curation_received = 0
        limit = max_upload_bytes()
        if limit and length is not None and length > limit:
            original_got_length(self, 0)
            _refuse(self)
            return
        original_got_length(self, length)

    def handle_content_chunk(self: Any, data: bytes) -> None:
        if getattr(self, "_curation_refused", False):
            return
        self._curation_received = getattr(self, "_curation_received", 0) + len(data)
        limit = max_upload_bytes()
        if limit and self._curation_received > limit:
            _refuse(self)
            return
        original_chunk(self, data)

    original_received = WebRequest.requestReceived

    def request_received(self: Any, command: bytes, path: bytes, version: bytes) -> None:
        if not getattr(self, "_curation_refused", False):  # already answered 413
            original_received(self, command, path, version)

    WebRequest.gotLength = got_length
    WebRequest.requestReceived = request_received
    WebRequest.handleContentChunk = handle_content_chunk
    WebRequest._curation_patched = True
