"""The connection to a Curation server: base URL, token, one HTTP client, error mapping.

``connect(url=None, token=None)`` opens the default connection every other module uses
(``url`` from ``CURATION_URL``, else ``http://127.0.0.1:8000``; ``token`` from
``CURATION_TOKEN``) and checks at once that a server answers and accepts the token, so a
notebook learns about a typo in its first cell. Every error is a ``CurationError`` subclass
carrying one sentence; the server's own sentence (``{"detail": …}``) is kept as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from curation.client.errors import (
    AuthenticationError,
    CurationError,
    ServerUnreachable,
    error_for_status,
)

DEFAULT_URL = "http://127.0.0.1:8000"
PAGE_SIZE = 500  # the API's largest page
Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


class Connection:
    """One server and one account (its API token)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0):
        self.url = (url or os.environ.get("CURATION_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("CURATION_TOKEN") or None
        headers = {"Accept": "application/json", "User-Agent": "curation-client"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __repr__(self) -> str:
        return f"<Connection {self.url}>"

    def close(self) -> None:
        self.http.close()

    # ---- requests ------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request below ``/api/``; raise the matching ``CurationError`` on failure."""
        url = path if path.startswith(("/", "http://", "https://")) else f"/api/{path}"
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"No Curation server answers at {self.url} ({type(exc).__name__}): start it "
                "(`make run` or `python manage.py serve`) or pass the right url to "
                "connect() / set CURATION_URL."
            ) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> CurationError:
        detail, path = "", None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            detail = str(body.get("detail") or "")
            path = body.get("path")
        if not detail:
            detail = f"The server answered {response.status_code} {response.reason_phrase}."
        if response.status_code == 401:
            who = "without a token" if not self.token else "with this token"
            detail = (
                f"The server at {self.url} refused the request {who} ({detail.rstrip('.')}): "
                "create a token under API tokens and pass it as connect(token=...) or set "
                "CURATION_TOKEN."
            )
            return AuthenticationError(detail, status=401)
        return error_for_status(response.status_code, detail, path)

    def get(self, path: str, params: Params = None) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=json, **kwargs)
        return response.json() if response.content else None

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def pages(
        self, path: str, params: Params = None, *, page_size: int = PAGE_SIZE
    ) -> Iterator[Any]:
        """Every item of a cursor-paginated list, page by page (``next`` links)."""
        for _url, _params, body in self.page_requests(path, params, page_size=page_size):
            yield from body["results"]

    def page_requests(
        self, path: str, params: Params = None, *, page_size: int = PAGE_SIZE
    ) -> Iterator[tuple[str, list[tuple[str, Any]], Any]]:
        """Every page of a cursor-paginated list as ``(url, params, body)``: the request that
        fetched it (to ask for the same page again) and its body."""
        pairs = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        pairs.append(("page_size", page_size))
        url: str = path
        while True:
            body = self.get(url, pairs)
            yield url, pairs, body
            if not body.get("next"):
                return
            following = httpx.URL(str(body["next"]))  # the cursor travels as params
            url, pairs = str(following).split("?", 1)[0], list(following.params.multi_items())

    def check(self) -> None:
        """Ask the server something cheap: raises if nothing answers or the token is refused."""
        self.get("datasets/", {"page_size": 1})


_default: Connection | None = None


def connect(url: str | None = None, token: str | None = None) -> Connection:
    """Connect to a Curation server and make it the default connection.

    ``url``: default ``CURATION_URL``, else ``http://127.0.0.1:8000``; ``token``: an API token
    (created under **API tokens**), default ``CURATION_TOKEN``. Raises ``ServerUnreachable``
    when nothing answers and ``AuthenticationError`` when the token is refused or missing.
    """
    global _default
    connection = Connection(url, token)
    try:
        connection.check()
    except CurationError:
        connection.close()
        raise
    if _default is not None:
        _default.close()
    _default = connection
    return connection


def get_connection() -> Connection:
    """The default connection, opened from the environment on first use."""
    if _default is None:
        return connect()
    return _default
