"""Request body parsing: hostile or sloppy JSON is a 400 with one sentence, never a crash."""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from curation.formats.text import unstorable_text


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large")
    return value


INT64_MAX = 2**63 - 1


def _int64(text: str) -> int:
    value = int(text) if len(text) <= 20 else INT64_MAX + 1  # int() refuses 4,300+ digits
    if abs(value) > INT64_MAX:
        raise ValueError(f"the number {text[:30]}{'…' if len(text) > 30 else ''} is too large")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use a finite number or null)")


def _refuse_nul(data: Any) -> None:
    """No database text column (PostgreSQL's least of all) stores U+0000 or a lone surrogate."""
    problem = unstorable_text(data)
    if problem is not None:
        raise ValueError(f"a string contains {problem}")


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def body_limit() -> int | None:
    """The most bytes a JSON body may have (``DATA_UPLOAD_MAX_MEMORY_SIZE``; None: no limit)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return int(limit) if limit is not None else None


def too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"The JSON body is larger than the {limit / (1024 * 1024):.1f} MB the server accepts: "
        "send less data per request."
    )


def _read_limited(stream: Any, parser_context: Mapping[str, Any] | None) -> bytes:
    """The body, refused with 413 before reading it whole when it is over the limit."""
    limit = body_limit()
    if limit is None:
        return bytes(stream.read())
    request = (parser_context or {}).get("request")
    meta = getattr(getattr(request, "_request", request), "META", {}) or {}
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large(limit)
    data = bytes(stream.read(limit + 1))
    if len(data) > limit:
        raise too_large(limit)
    return data


class StrictJSONParser(JSONParser):
    """JSON bodies only; refuses NaN/Infinity, numbers that overflow a float (``1e999``), integers
    beyond 64 bits (no database column holds them), nesting deeper than the recursion limit, and
    bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413, checked before the body is read whole)."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(_read_limited(stream, parser_context), encoding)
            data = json.loads(
                text, parse_float=_finite_float, parse_int=_int64, parse_constant=_refuse_constant
            )
            _refuse_nul(data)
            return data
        except RecursionError:
            raise ParseError("Malformed JSON: the body is nested too deeply.") from None
        except LookupError:
            raise ParseError(
                f"Malformed JSON: the charset {str(encoding)[:40]!r} is unknown; send UTF-8."
            ) from None
        except UnicodeDecodeError:
            raise ParseError(f"Malformed JSON: the body is not valid {encoding} text.") from None
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}.") from None
