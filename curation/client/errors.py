"""The client's exception types: every failure is one of them, carrying one sentence.

Server errors keep the server's sentence (``{"detail": …}``) and, when the server names one,
the field or config JSON path (``path``). Nothing here imports Django.
"""

from __future__ import annotations


class CurationError(Exception):
    """Base class: ``str(error)`` is one sentence saying what was wrong and what to do."""

    def __init__(self, message: str, *, status: int | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.path = path


class ServerUnreachable(CurationError):
    """Nothing answered at the server's URL (not started, wrong port, network down)."""


class AuthenticationError(CurationError):
    """The server refused the token (missing, revoked or mistyped): HTTP 401."""


class PermissionDeniedError(CurationError):
    """The account may see the object but not do this (HTTP 403)."""


class NotFoundError(CurationError):
    """No such dataset, tag, run or sample, or one the account may not see (HTTP 404)."""


class BadRequestError(CurationError, ValueError):
    """The server refused the input (HTTP 400): a taken tag name, a bad config, a bad filter."""


class ConflictError(CurationError):
    """The object is busy or in the wrong state (HTTP 409): a dataset being deleted, another
    import running, a run that has not finished."""


class ServerError(CurationError):
    """The server failed (HTTP 5xx); its log has the details."""


class QueryError(CurationError, ValueError):
    """A query expression the filter language cannot express; nothing was sent."""


class RunFailedError(CurationError):
    """A selection run ended failed or cancelled; the message is the run's own sentence."""

    def __init__(self, message: str, *, run_id: int | None = None, status_text: str = ""):
        super().__init__(message)
        self.run_id = run_id
        self.status_text = status_text


class JobFailedError(CurationError):
    """A background job (an import, a metadata computation) failed or was cancelled."""

    def __init__(self, message: str, *, job_id: int | None = None, status_text: str = ""):
        super().__init__(message)
        self.job_id = job_id
        self.status_text = status_text


def error_for_status(status: int, message: str, path: str | None = None) -> CurationError:
    """The exception type for an HTTP error status."""
    kinds: dict[int, type[CurationError]] = {
        400: BadRequestError,
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        413: BadRequestError,
        429: BadRequestError,
    }
    kind = kinds.get(status, ServerError if status >= 500 else CurationError)
    return kind(message, status=status, path=path)
