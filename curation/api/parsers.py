"""Request body parsing: hostile or sloppy JSON is a 400 with one sentence, never a crash."""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large")
    return value


INT64_MAX = 2**63 - 1


def _int64(text: str) -> int:
    value = int(text)
    if abs(value) > INT64_MAX:
        raise ValueError(f"the number {text[:30]}{'…' if len(text) > 30 else ''} is too large")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use a finite number or null)")


def _refuse_nul(data: Any) -> None:
    """No database text column (PostgreSQL's least of all) stores U+0000."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("a string contains the NUL character (\\u0000)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class StrictJSONParser(JSONParser):
    """JSON bodies only; refuses NaN/Infinity, numbers that overflow a float (``1e999``), integers
    beyond 64 bits (no database column holds them), and nesting deeper than the recursion limit."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(
                text, parse_float=_finite_float, parse_int=_int64, parse_constant=_refuse_constant
            )
            _refuse_nul(data)
            return data
        except RecursionError:
            raise ParseError("Malformed JSON: the body is nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}.") from None
